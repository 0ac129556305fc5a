"""``EmulatorControl``: a small typed httpx client for the emulator's ``/_emulator`` control API.

One method per control endpoint, returning plain dicts. Tests, the offline demo and the
benchmarks drive the emulator's "customer" and "Stripe" sides through it.
Imports the stdlib and httpx.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, cast

import httpx

Json = dict[str, Any]


class EmulatorControlError(Exception):
    """Raised when a control call answers with a non-2xx status."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message


class EmulatorControl:
    """Control client: ``EmulatorControl("http://127.0.0.1:12111")``; close it when done."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url + "/_emulator", timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EmulatorControl:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Json | None = None, **query: Any) -> Any:
        params = {k: v for k, v in query.items() if v is not None}
        response = self._http.request(method, path, json=body, params=params or None)
        if response.status_code >= 400:
            try:
                message = str(response.json().get("error", response.text))
            except ValueError:
                message = response.text
            raise EmulatorControlError(response.status_code, message)
        return response.json()

    def _post(self, path: str, body: Json | None = None) -> Json:
        return cast(Json, self._call("POST", path, body or {}))

    # -- state and clock ------------------------------------------------------------------
    def reset(self) -> Json:
        return self._post("/reset")

    def now(self) -> int:
        return int(self._call("GET", "/clock")["now"])

    def set_clock(self, now: int) -> int:
        return int(self._post("/clock", {"now": now})["now"])

    def advance_clock(self, seconds: int) -> int:
        return int(self._post("/clock", {"advance": seconds})["now"])

    # -- the customer's side --------------------------------------------------------------
    def pay(
        self,
        session_id: str,
        method: str = "card",
        promotion_code: str | None = None,
        card: str | None = None,
    ) -> Json:
        """Pay (or, in setup mode, save a card) as the customer.

        ``promotion_code`` is typed on the page first (if allowed); ``card`` is the test card
        used (``pm_card_visa``, ``pm_card_authenticationRequired``...).
        """
        body: Json = {"method": method}
        if promotion_code is not None:
            body["promotion_code"] = promotion_code
        if card is not None:
            body["card"] = card
        return self._post(f"/checkout/sessions/{session_id}/pay", body)

    def set_card_decline(self, payment_method_id: str, decline: str | None) -> Json:
        """Make a saved card decline its next charges (``generic_decline``,
        ``insufficient_funds``, ``authentication_required``), or succeed again (None)."""
        return self._post(f"/payment_methods/{payment_method_id}/decline", {"decline": decline})

    def async_succeed(self, session_id: str) -> Json:
        return self._post(f"/checkout/sessions/{session_id}/async_succeed")

    def async_fail(self, session_id: str) -> Json:
        return self._post(f"/checkout/sessions/{session_id}/async_fail")

    def expire(self, session_id: str) -> Json:
        return self._post(f"/checkout/sessions/{session_id}/expire")

    def cancel(self, session_id: str) -> Json:
        return self._post(f"/checkout/sessions/{session_id}/cancel")

    # -- refunds and disputes -------------------------------------------------------------
    def refund(self, payment_id: str, amount: int | None = None) -> Json:
        """Refund a paid session (``cs_...``) or PaymentIntent (``pi_...``); all if no amount."""
        kind = "checkout/sessions" if payment_id.startswith("cs_") else "payment_intents"
        body = {} if amount is None else {"amount": amount}
        return self._post(f"/{kind}/{payment_id}/refund", body)

    def set_refund_status(self, refund_id: str, status: str) -> Json:
        return self._post(f"/refunds/{refund_id}/status", {"status": status})

    def dispute(
        self,
        payment_id: str,
        amount: int | None = None,
        withdraw: bool = True,
        reason: str = "fraudulent",
    ) -> Json:
        kind = "checkout/sessions" if payment_id.startswith("cs_") else "payment_intents"
        body: Json = {"withdraw": withdraw, "reason": reason}
        if amount is not None:
            body["amount"] = amount
        return self._post(f"/{kind}/{payment_id}/dispute", body)

    def close_dispute(self, dispute_id: str, outcome: str) -> Json:
        return self._post(f"/disputes/{dispute_id}/close", {"outcome": outcome})

    # -- webhooks -------------------------------------------------------------------------
    def add_webhook_endpoint(
        self,
        url: str,
        secrets: list[str] | None = None,
        enabled_events: list[str] | None = None,
    ) -> Json:
        body: Json = {"url": url, "enabled_events": enabled_events or ["*"]}
        if secrets:
            body["secrets"] = secrets
        return self._post("/webhook_endpoints", body)

    def update_webhook_endpoint(
        self,
        endpoint_id: str,
        *,
        secrets: list[str] | None = None,
        enabled_events: list[str] | None = None,
        url: str | None = None,
        disabled: bool | None = None,
    ) -> Json:
        body: Json = {"secrets": secrets, "enabled_events": enabled_events, "url": url}
        body = {k: v for k, v in body.items() if v is not None}
        if disabled is not None:
            body["disabled"] = disabled
        return cast(Json, self._call("PATCH", f"/webhook_endpoints/{endpoint_id}", body))

    def delete_webhook_endpoint(self, endpoint_id: str) -> Json:
        return cast(Json, self._call("DELETE", f"/webhook_endpoints/{endpoint_id}"))

    def deliveries(
        self,
        event_id: str | None = None,
        endpoint_id: str | None = None,
        type: str | None = None,
    ) -> list[Json]:
        answer = self._call(
            "GET", "/deliveries", event_id=event_id, endpoint_id=endpoint_id, type=type
        )
        return cast(list[Json], answer["data"])

    def resend(self, event_id: str, endpoint_id: str | None = None) -> Json:
        body = {"endpoint_id": endpoint_id} if endpoint_id else {}
        return self._post(f"/events/{event_id}/resend", body)

    def configure_delivery(
        self,
        *,
        duplicates: int | None = None,
        concurrent_duplicates: bool | None = None,
        delay: float | None = None,
        reverse_order: bool | None = None,
        retry_schedule: list[float] | None = None,
        max_attempts: int | None = None,
        workers: int | None = None,
        timeout: float | None = None,
    ) -> Json:
        knobs: Json = {
            "duplicates": duplicates,
            "concurrent_duplicates": concurrent_duplicates,
            "delay": delay,
            "reverse_order": reverse_order,
            "retry_schedule": retry_schedule,
            "max_attempts": max_attempts,
            "workers": workers,
            "timeout": timeout,
        }
        return self._post("/delivery", {k: v for k, v in knobs.items() if v is not None})

    def wait_idle(self, timeout: float = 25.0) -> Json:
        """Block until no delivery is queued or in flight; TimeoutError if still busy.

        The default is wide (a loaded machine delivers slowly) and stays under the control
        client's 30 s HTTP timeout, so a slow wait reports itself as this TimeoutError.
        """
        answer = cast(Json, self._call("POST", "/wait", {"timeout": timeout}))
        if not answer["idle"]:
            raise TimeoutError(f"webhook deliveries still busy after {timeout}s: {answer}")
        return answer

    # -- faults, seeding, keys ------------------------------------------------------------
    def fault(
        self,
        path: str,
        kind: str,
        count: int = 1,
        method: str | None = None,
        hang_seconds: float | None = None,
    ) -> Json:
        body: Json = {"path": path, "kind": kind, "count": count}
        if method:
            body["method"] = method
        if hang_seconds is not None:
            body["hang_seconds"] = hang_seconds
        return self._post("/faults", body)

    def clear_faults(self) -> Json:
        return cast(Json, self._call("DELETE", "/faults"))

    def seed(self, count: int = 1, state: str = "paid", **options: Any) -> Json:
        """Bulk-create sessions; ``options`` as in docs/emulator.md (amount, currency...)."""
        return self._post("/seed", {"count": count, "state": state, **options})

    def configure_tax(
        self, *, rate_bps: int | None = None, tax_behavior: str | None = None
    ) -> Json:
        """The automatic-tax rate (basis points, 1000 = 10%) and the default tax behavior."""
        body: Json = {"rate_bps": rate_bps, "tax_behavior": tax_behavior}
        return self._post("/tax", {k: v for k, v in body.items() if v is not None})

    def create_restricted_key(self, permissions: dict[str, str]) -> str:
        return str(self._post("/restricted_keys", {"permissions": permissions})["key"])
