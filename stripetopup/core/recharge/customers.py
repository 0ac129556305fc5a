"""An account's Stripe Customer: made on first need (saving a card), its ``cus_`` kept.

Stripe's call runs outside any transaction; its Idempotency-Key is derived from the
account (and the last customer its cards were saved to, so a customer Stripe deleted is
replaced by a new one, not answered from Stripe's idempotency cache). Two concurrent
first needs get one customer: the same key, and only an empty column is written.
Imports core (context, ledger's fingerprint), db and store.
"""

from __future__ import annotations

from sqlmodel import Session

from stripetopup.core.context import Context
from stripetopup.core.ledger.accounts import fingerprint
from stripetopup.db import run_in_transaction, transaction
from stripetopup.store import accounts, cards


def ensure(ctx: Context, account_id: str) -> str:
    """The account's ``cus_...``, created in Stripe if it has none yet."""
    with transaction(ctx.engine) as session:
        account = accounts.get(session, account_id)
        if account.stripe_customer_id:
            return account.stripe_customer_id
        assert account.id is not None
        account_pk = account.id
        saved = cards.for_account(session, account_pk, active_only=False)
        previous = saved[-1].customer_id if saved else ""
    created = ctx.stripe.create_customer(
        {"metadata": {"account_id": account_id, "source": "stripetopup"}},
        idempotency_key="stripetopup-customer-" + fingerprint(account_id, previous),
    )
    customer_id = str(created["id"])

    def keep(session: Session) -> str:
        return cards.keep_customer(session, account_pk, customer_id)

    return run_in_transaction(ctx.engine, keep)
