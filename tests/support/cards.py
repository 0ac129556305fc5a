"""Saving a card through the real path, for the auto-recharge tests: a consenting checkout
over HTTP, paid in the emulator, its signed webhooks delivered to the app on loopback."""

from __future__ import annotations

from typing import Any

from tests.conftest import ACCOUNT, ORIGIN, Running


def checkout(running: Running, body: dict[str, Any]) -> Any:
    headers = {"Authorization": f"Bearer {running.user_token()}", "Origin": ORIGIN}
    return running.http.post("/billing/checkout-session", json=body, headers=headers)


def saved_and_paid(running: Running, card: str = "pm_card_visa") -> dict[str, Any]:
    """A saving top-up, paid; the webhooks delivered. The card the account now has."""
    response = checkout(running, {"amount_cents": 500, "save_payment_method": True})
    assert response.status_code == 200, response.text
    running.control.pay(response.json()["id"], card=card)
    running.control.wait_idle(timeout=30)
    [saved] = running.service.cards(ACCOUNT).to_json()["cards"]
    return dict(saved)
