"""The ``doctor`` checks that ask Stripe: key permissions and registered webhook endpoints.

Permissions are found by trying, harmlessly, each call stripetopup makes: reads of a
limit-1 list or of an object that does not exist (404 means the read was allowed), and for
the one write, creating a checkout session with an invalid ``mode`` (Stripe checks the
permission, 403, before it validates, 400, so nothing is ever created).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stripetopup.core.context import Context
from stripetopup.core.doctor.types import Check, fail, ok, warn
from stripetopup.errors import StripeTopupError
from stripetopup.stripe_gateway import ProbeAnswer, StripeGateway

PERMISSIONS = "stripe permissions"
ENDPOINTS = "stripe webhook endpoints"
DASHBOARD_FIX = "in the Stripe dashboard (Developers > API keys) edit the restricted key and grant "


@dataclass(frozen=True)
class Probe:
    """One call we need, made so that it changes nothing."""

    what: str
    method: str
    path: str
    params: dict[str, Any]
    allowed: frozenset[int] = frozenset({200})
    required: bool = True


_MISSING = frozenset({200, 404})
PROBES = (
    Probe(
        "create checkout sessions",
        "post",
        "/v1/checkout/sessions",
        {"mode": "stripetopup_doctor_probe"},
        allowed=frozenset({200, 400}),
    ),
    Probe("list checkout sessions", "get", "/v1/checkout/sessions", {"limit": 1}),
    Probe(
        "retrieve checkout sessions", "get", "/v1/checkout/sessions/cs_doctor_probe", {}, _MISSING
    ),
    Probe("read events (replay)", "get", "/v1/events", {"limit": 1}),
    Probe("read payment intents", "get", "/v1/payment_intents/pi_doctor_probe", {}, _MISSING),
    Probe("read charges", "get", "/v1/charges/ch_doctor_probe", {}, _MISSING),
    Probe("list refunds", "get", "/v1/refunds", {"limit": 1}),
    Probe("list disputes", "get", "/v1/disputes", {"limit": 1}),
    Probe("list webhook endpoints", "get", "/v1/webhook_endpoints", {"limit": 1}, required=False),
)


def permissions(ctx: Context) -> tuple[Check, bool]:
    """The permission check, and whether the key may read webhook endpoints."""
    gateway = ctx.stripe
    missing: list[tuple[Probe, ProbeAnswer]] = []
    unsure: list[str] = []
    for probe in PROBES:
        answer = gateway.probe(probe.method, probe.path, probe.params)
        if answer.status in probe.allowed:
            continue
        if answer.status == 401:
            return _invalid_key(), False
        if answer.status is None:
            return _unreachable(ctx), False
        if answer.status == 403:
            missing.append((probe, answer))
        else:
            unsure.append(f"{probe.what} (HTTP {answer.status})")
    can_read_endpoints = all(probe.required for probe, _ in missing)
    return _permission_check(missing, unsure), can_read_endpoints


def _permission_check(missing: list[tuple[Probe, ProbeAnswer]], unsure: list[str]) -> Check:
    required = [(p, a) for p, a in missing if p.required]
    if required:
        listed = ", ".join(_name(p, a) for p, a in required)
        return fail(
            PERMISSIONS,
            f"the key lacks {len(required)} permission(s) stripetopup needs: {listed}",
            DASHBOARD_FIX + ", ".join(a.permission or p.what for p, a in missing),
        )
    if missing:
        return warn(
            PERMISSIONS,
            f"the key lacks {_name(*missing[0])}: doctor cannot check the registered "
            "webhook endpoints",
            DASHBOARD_FIX + (missing[0][1].permission or "it") + " (optional: only doctor uses it)",
        )
    if unsure:
        return warn(PERMISSIONS, "could not check: " + ", ".join(unsure), "run doctor again")
    return ok(PERMISSIONS, f"every call stripetopup makes is allowed ({len(PROBES)} probed)")


def _name(probe: Probe, answer: ProbeAnswer) -> str:
    return f"{answer.permission or 'a permission'} ({probe.what})"


def _invalid_key() -> Check:
    return fail(
        PERMISSIONS,
        "Stripe answered 401: the key is invalid or revoked",
        "create a new key in the Stripe dashboard (Developers > API keys) "
        "and set STRIPE_SECRET_KEY",
    )


def _unreachable(ctx: Context) -> Check:
    where = ctx.settings.stripe_api_base or "https://api.stripe.com"
    return fail(
        PERMISSIONS,
        f"could not reach Stripe at {where}",
        "check the network, proxies and firewall (and STRIPE_API_BASE if set)",
    )


# Registered endpoints -------------------------------------------------------------------
def endpoints(gateway: StripeGateway, url: str | None, handled: list[str]) -> Check:
    """The endpoints for ``url`` (or all of them) enable every event type we handle."""
    try:
        registered = gateway.list_webhook_endpoints()
    except StripeTopupError as exc:
        return warn(ENDPOINTS, f"could not list them: {exc.message}", None)
    matching = [e for e in registered if url is None or e.get("url") == url]
    if not matching:
        return _no_endpoint(registered, url)
    problems = [p for e in matching for p in _endpoint_problems(e, handled)]
    if problems:
        return fail(
            ENDPOINTS,
            "; ".join(problems),
            "in the Stripe dashboard (Developers > Webhooks) enable the missing events "
            "on the endpoint (and enable a disabled endpoint)",
        )
    ids = ", ".join(str(e.get("id")) for e in matching)
    return ok(ENDPOINTS, f"{ids} sends every event type stripetopup handles ({len(handled)})")


def _endpoint_problems(endpoint: dict[str, Any], handled: list[str]) -> list[str]:
    label = f"{endpoint.get('id')} ({endpoint.get('url')})"
    problems = []
    if endpoint.get("status") == "disabled":
        problems.append(f"{label} is disabled")
    enabled = set(endpoint.get("enabled_events") or [])
    missing = [] if "*" in enabled else [t for t in handled if t not in enabled]
    if missing:
        problems.append(f"{label} does not send {', '.join(missing)}")
    return problems


def _no_endpoint(registered: list[dict[str, Any]], url: str | None) -> Check:
    if not registered:
        return warn(
            ENDPOINTS,
            "no webhook endpoint is registered in Stripe",
            "add one in the Stripe dashboard (Developers > Webhooks) for your public URL",
        )
    urls = ", ".join(str(e.get("url")) for e in registered[:5])
    return warn(
        ENDPOINTS,
        f"no registered endpoint has the URL {url} (registered: {urls})",
        "pass the URL Stripe posts to with --url, or register that URL in Stripe",
    )
