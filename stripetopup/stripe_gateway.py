"""The Stripe adapter: the only module that calls the official ``stripe`` SDK.

It speaks plain dicts to the core (the same shapes a webhook payload carries) and turns
every SDK exception into :class:`~stripetopup.errors.StripeUnavailable` with a message that
names the HTTP status, Stripe's code and request id, never the key. ``STRIPE_API_BASE``
points it at the emulator. The SDK is imported when a gateway is built, not before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import SecretStr

from stripetopup.errors import CardDeclined, NotFound, StripeUnavailable
from stripetopup.redact import redact

log = logging.getLogger(__name__)
T = TypeVar("T")
PAGE_SIZE = 100


class StripeGateway:
    """Stripe calls stripetopup makes, over one ``stripe.StripeClient``."""

    def __init__(
        self,
        api_key: SecretStr,
        *,
        api_base: str | None = None,
        max_network_retries: int = 2,
        timeout_seconds: float = 30.0,
    ) -> None:
        import stripe

        self._stripe = stripe
        # Named in "could not reach" messages: where we tried, never the key.
        self._where = (urlsplit(api_base).netloc if api_base else "") or "api.stripe.com"
        # requests is the SDK's own default transport (and its dependency); one pooled session.
        self._http = stripe.RequestsClient(timeout=timeout_seconds)
        self.client = stripe.StripeClient(
            api_key.get_secret_value(),
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=self._http,
        )

    def close(self) -> None:
        self._http.close()  # type: ignore[no-untyped-call]

    def probe(self, method: str, path: str, params: dict[str, Any]) -> ProbeAnswer:
        """Make one raw call and report how Stripe answered; never raises (for ``doctor``).

        Only Stripe's status, code and the ``rak_...`` permission its 403 names are kept.
        """
        try:
            self.client.raw_request(method, path, **params)
        except self._stripe.StripeError as exc:
            text = str(getattr(exc, "user_message", None) or exc._message or "")
            return ProbeAnswer(
                status=getattr(exc, "http_status", None),
                code=getattr(exc, "code", None),
                permission=_permission_named(text),
                request_id=getattr(exc, "request_id", None),
            )
        return ProbeAnswer(status=200)

    def create_checkout_session(
        self, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._call(
            lambda: self.client.v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            ).to_dict()
        )

    def retrieve_checkout_session(
        self, session_id: str, expand: list[str] | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"expand": expand} if expand else {}
        return self._call(
            lambda: self.client.v1.checkout.sessions.retrieve(session_id, params=params).to_dict()  # type: ignore[arg-type]
        )

    def checkout_session_pages(
        self, *, created_gte: int, created_lt: int, expand: list[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every session created in ``[created_gte, created_lt)``, a page of 100 at a time."""
        params: dict[str, Any] = {
            "limit": PAGE_SIZE,
            "created": {"gte": created_gte, "lt": created_lt},
        }
        if expand:
            params["expand"] = [f"data.{path}" for path in expand]
        return self._pages("/v1/checkout/sessions", params)

    def payment_intent_pages(
        self, *, created_gte: int, created_lt: int, expand: list[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every PaymentIntent created in ``[created_gte, created_lt)``, 100 a page.

        Stripe's list has no metadata filter: the caller picks its own (reconcile, the
        auto-recharge charges) from each page.
        """
        params: dict[str, Any] = {
            "limit": PAGE_SIZE,
            "created": {"gte": created_gte, "lt": created_lt},
        }
        if expand:
            params["expand"] = [f"data.{path}" for path in expand]
        return self._pages("/v1/payment_intents", params)

    def customer_payment_intent_pages(self, customer_id: str) -> Iterator[list[dict[str, Any]]]:
        """Every PaymentIntent of ``customer_id``, newest first, 100 a page."""
        return self._pages("/v1/payment_intents", {"limit": PAGE_SIZE, "customer": customer_id})

    def _list_page(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """One list page as plain JSON, through the SDK's own requestor (auth, retries,
        error mapping) but without building a StripeObject per item: paging 20,000
        sessions spends most of its time there, and reconcile only reads dicts."""
        response = self._call(lambda: self.client.raw_request("get", path, **params))
        data: dict[str, Any] = response.data
        return data

    def find_checkout_session(self, payment_intent_id: str) -> dict[str, Any] | None:
        """The Checkout Session that created ``payment_intent_id``, or None (not ours)."""
        params: dict[str, Any] = {"payment_intent": payment_intent_id, "limit": 1}
        found: list[dict[str, Any]] = self._list_page("/v1/checkout/sessions", params)["data"]
        return found[0] if found else None

    def create_customer(self, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return self._call(
            lambda: self.client.v1.customers.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            ).to_dict()
        )

    def create_payment_intent(self, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Create (and with ``confirm`` charge) a PaymentIntent; a 402 ``card_error`` is
        :class:`CardDeclined` with Stripe's codes and the PaymentIntent it kept."""
        try:
            return self.client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            ).to_dict()
        except self._stripe.CardError as exc:
            raise _declined(exc) from None
        except self._stripe.StripeError as exc:
            raise _translate(exc, self._stripe, self._where) from None

    def retrieve_payment_intent(
        self, payment_intent_id: str, expand: list[str] | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"expand": expand} if expand else {}
        return self._call(
            lambda: self.client.v1.payment_intents.retrieve(
                payment_intent_id,
                params=params,  # type: ignore[arg-type]
            ).to_dict()
        )

    def detach_payment_method(self, payment_method_id: str) -> dict[str, Any]:
        return self._call(
            lambda: self.client.v1.payment_methods.detach(payment_method_id).to_dict()
        )

    def retrieve_invoice(self, invoice_id: str) -> dict[str, Any]:
        """A Checkout Session's post-purchase invoice (its ``hosted_invoice_url``: the receipt)."""
        return self._call(lambda: self.client.v1.invoices.retrieve(invoice_id).to_dict())

    def retrieve_event(self, event_id: str) -> dict[str, Any]:
        return self._call(lambda: self.client.v1.events.retrieve(event_id).to_dict())

    def list_webhook_endpoints(self) -> list[dict[str, Any]]:
        return list(self._list_all("/v1/webhook_endpoints", {}))

    def list_refunds(self, payment_intent_id: str) -> list[dict[str, Any]]:
        return list(self._list_all("/v1/refunds", {"payment_intent": payment_intent_id}))

    def list_disputes(self, payment_intent_id: str) -> list[dict[str, Any]]:
        return list(self._list_all("/v1/disputes", {"payment_intent": payment_intent_id}))

    def _list_all(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for page in self._pages(path, {**params, "limit": PAGE_SIZE}):
            yield from page

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """A list endpoint's items, a page at a time, following ``has_more``."""
        while True:
            page = self._list_page(path, params)
            items: list[dict[str, Any]] = page["data"]
            if items:
                yield items
            if not page.get("has_more") or not items:
                return
            params = {**params, "starting_after": items[-1]["id"]}

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except self._stripe.StripeError as exc:
            raise _translate(exc, self._stripe, self._where) from None


def _translate(exc: Any, stripe: Any, host: str) -> StripeUnavailable | NotFound:
    status = getattr(exc, "http_status", None)
    code = getattr(exc, "code", None)
    request_id = getattr(exc, "request_id", None)
    message = _one_line(str(getattr(exc, "user_message", None) or exc._message or "no message"))
    where = f" (request {request_id})" if request_id else ""
    log.info("stripe call failed: status=%s code=%s request_id=%s", status, code, request_id)
    if isinstance(exc, stripe.InvalidRequestError) and code == "resource_missing":
        return NotFound(f"Stripe has no such object: {message}{where}")
    if isinstance(exc, stripe.APIConnectionError):
        return StripeUnavailable(f"could not reach Stripe at {host}: {connection_cause(message)}")
    kind = {
        401: "Stripe rejected the API key",
        403: "the API key lacks a permission",
        429: "Stripe rate-limited the request",
    }.get(status or 0, "Stripe refused the request")
    if status is not None and status >= 500:
        kind = "Stripe had an error"
    return StripeUnavailable(
        f"{kind} (HTTP {status}, {code or 'no code'}): {message}{where}", http_status=status
    )


def _declined(exc: Any) -> CardDeclined:
    error = getattr(exc, "error", None)
    intent = getattr(error, "payment_intent", None) if error is not None else None
    intent_id = intent.get("id") if isinstance(intent, dict) else getattr(intent, "id", None)
    message = _one_line(str(getattr(exc, "user_message", None) or exc._message or "declined"))
    return CardDeclined(
        f"Stripe declined the charge ({getattr(exc, 'code', None) or 'card_error'}): {message}",
        stripe_code=getattr(exc, "code", None),
        decline_code=getattr(error, "decline_code", None) if error is not None else None,
        payment_intent_id=str(intent_id) if intent_id else None,
    )


_SDK_BOILERPLATE = (
    "Unexpected error communicating with Stripe. If this problem persists, "
    "let us know at support@stripe.com. "
)


def _one_line(message: str) -> str:
    """The SDK's message on one line, without its support boilerplate, secrets redacted."""
    flat = " ".join(message.split())
    return redact(flat.replace(_SDK_BOILERPLATE, "").strip() or flat)


# What urllib3/requests bury in 300 characters, in the words an operator acts on.
_CAUSES = (
    (re.compile(r"connection refused", re.I), "connection refused (is anything listening there?)"),
    (
        re.compile(
            r"name or service not known|failed to resolve|nodename nor servname|"
            r"temporary failure in name resolution|getaddrinfo failed",
            re.I,
        ),
        "host name not found (check the host name and DNS)",
    ),
    (re.compile(r"timed? ?out", re.I), "timed out (check the network or a firewall)"),
    (re.compile(r"ssl|certificate|tls", re.I), "TLS handshake failed (check the certificate)"),
    (re.compile(r"connection reset|remote end closed|aborted", re.I), "connection closed early"),
    (re.compile(r"network is unreachable|no route to host", re.I), "network unreachable"),
)
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\"()\]]+)")


def connection_cause(message: str) -> str:
    """One short cause for a connection failure: refused, name not found, timed out..."""
    for pattern, cause in _CAUSES:
        if pattern.search(message):
            return cause
    found = _ERRNO.search(message)
    if found:
        return found.group(1).strip()
    network = re.search(r"Network error: (\w+)", message)
    return network.group(1) if network else "no answer"


@dataclass(frozen=True)
class ProbeAnswer:
    """How Stripe answered a probe: ``status`` is None when Stripe could not be reached."""

    status: int | None
    code: str | None = None
    permission: str | None = None
    request_id: str | None = None


_RAK = re.compile(r"\b(rak_[a-z0-9_]+)\b")


def _permission_named(message: str) -> str | None:
    """The ``rak_...`` permission a Stripe 403 message names, if any."""
    match = _RAK.search(message)
    return match.group(1) if match else None
