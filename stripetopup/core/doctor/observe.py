"""What the metrics scrape reads from the database.

The figures here must hold across ``serve`` workers, instances and restarts, so they are
read from the database when a scrape asks rather than counted in memory.
May import stripetopup.metrics, store and the core's context.
"""

from __future__ import annotations

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.doctor.local import STREAK_WINDOW
from stripetopup.core.events.log import PING_TYPE
from stripetopup.metrics import Snapshot, Totals
from stripetopup.store import event_health, totals
from stripetopup.store.events import FAILED


def snapshot(ctx: Context) -> Snapshot:
    """Ledger totals, payments by state and the webhook failure streak (as doctor counts it)."""
    with Session(ctx.engine) as session:
        accounts, balance_cents = totals.accounts(session)
        entries = totals.entries_by_kind(session)
        payments = totals.payments_by_state(session)
        outcomes = event_health.recent_outcomes(
            session, limit=STREAK_WINDOW, exclude_types=[PING_TYPE]
        )
    streak = next((i for i, o in enumerate(outcomes) if o != FAILED), len(outcomes))
    return Snapshot(
        accounts=accounts,
        balance_cents=balance_cents,
        entries_by_kind={kind: Totals(*figures) for kind, figures in entries.items()},
        payments_by_state={state: Totals(*figures) for state, figures in payments.items()},
        webhook_failures_in_a_row=streak,
    )
