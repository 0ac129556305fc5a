"""Which low-balance threshold applies to an account: its own, else the setting's default.

Apart from :mod:`stripetopup.core.outbound.thresholds` (which flips the flag and emits) so
that reading a balance needs neither the outbox nor the ORM. Imports ``core.context`` only.
"""

from __future__ import annotations

from stripetopup.core.context import Context


def threshold_of(ctx: Context, own_cents: int | None) -> int | None:
    """The threshold that applies given the account's own (None: no alert for it)."""
    return own_cents if own_cents is not None else ctx.settings.low_balance_threshold_cents
