"""Which low-balance threshold applies to an account: its own, else the setting's default.

Apart from :mod:`stripetopup.core.outbound.thresholds` (which flips the flag and emits) so
that reading a balance needs neither the outbox nor the ORM. Imports ``core.context`` and
``config`` (for their types) only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stripetopup.config import Settings
    from stripetopup.core.context import Context


def threshold_of(ctx: Context, own_cents: int | None) -> int | None:
    """The threshold that applies given the account's own (None: no alert for it)."""
    return threshold_in(ctx.settings, own_cents)


def threshold_in(settings: Settings, own_cents: int | None) -> int | None:
    """:func:`threshold_of` under ``settings`` (a read with settings and no context)."""
    return own_cents if own_cents is not None else settings.low_balance_threshold_cents
