"""The Checkout Session a recharge the bank wanted authenticated gives the buyer.

The recharge worker's link maker (:data:`stripetopup.core.recharge.types.ActionLinkMaker`,
handed to it by the service): one ``mode=payment`` session per requires_action attempt, for
the attempt's amount, paid by the attempt's customer, returning to the first allowed origin
like ``checkout``. It carries the account (``client_reference_id``, ``metadata``) and the
attempt (``metadata[recharge_attempt]``: never ``attempt``, which names an off-session
charge to ``payment_intent.succeeded`` and would credit it a second time beside the
session), and the card-saving consent of a saving top-up (door ``recharge_link``), so the
card the buyer authenticates is saved again for the rule. Paying it credits through the
normal checkout path, once (``checkout_session:cs_...``).

The Idempotency-Key is the attempt's own and every parameter is derived from the attempt
and settings, so asking again after a crash or a lost answer returns Stripe's one session.
Imports core (the room's links, context, the recharge room's types), errors and money.
"""

from __future__ import annotations

from stripetopup.core.checkout.links import (
    ReturnUrls,
    record,
    resolve_origin,
    saving,
    session_params,
)
from stripetopup.core.context import Context
from stripetopup.core.recharge.types import ActionLink, ActionLinkRequest, ConsentDoor
from stripetopup.money import check_bounds

ATTEMPT_METADATA = "recharge_attempt"


def idempotency_key(attempt_key: str) -> str:
    return f"stripetopup-{attempt_key}-checkout"


def create(ctx: Context, request: ActionLinkRequest) -> ActionLink:
    """Create (or find again) the attempt's session and its local payment row."""
    settings = ctx.settings
    check_bounds(
        request.amount_cents, minimum=settings.min_amount_cents, maximum=settings.max_amount_cents
    )
    base = resolve_origin(ctx, None)
    returns = ReturnUrls(base + settings.success_path, base + settings.cancel_path)
    params = session_params(ctx, request.account_id, request.amount_cents, returns)
    params["metadata"] = {**params["metadata"], ATTEMPT_METADATA: request.attempt_key}
    saving(params, request.customer_id, ConsentDoor.RECHARGE_LINK)
    created = ctx.stripe.create_checkout_session(
        params, idempotency_key=idempotency_key(request.attempt_key)
    )
    link = record(ctx, created, request.account_id, request.amount_cents)
    return ActionLink(link.checkout_session_id, link.url)
