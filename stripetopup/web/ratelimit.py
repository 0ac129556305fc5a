"""Rate limits at the web door: failed authentications, checkout creation, forged signatures.

Three limits, each a ``limits`` rate limit string from settings, counted per client address
(and, for checkout, per account too) with the ``limits`` library's moving window:

- ``STRIPETOPUP_RATE_LIMIT_AUTH_FAILURES``: refused credentials (user tokens, JWTs, service
  keys). Only refusals count; once an address is over, its requests get 429 before their
  credential is even looked at, until enough failures leave the window.
- ``STRIPETOPUP_RATE_LIMIT_CHECKOUT_PER_ACCOUNT`` / ``..._PER_ADDRESS``: checkout sessions
  asked for (each is a Stripe API call on the operator's key); a refused one costs nothing.
- ``STRIPETOPUP_RATE_LIMIT_FORGED_SIGNATURES``: webhook deliveries whose Stripe-Signature
  fails. The signature is always checked first, so a genuine delivery is never refused, at
  any rate and from any address; only a failing one can be answered 429 instead of 400.

The client address is the socket peer; X-Forwarded-For is believed only from the proxies
named in ``STRIPETOPUP_TRUSTED_PROXIES`` (uvicorn's ProxyHeadersMiddleware, added here).
IPv6 clients are counted per /64, the block one host usually holds.

Counters live in the storage named by ``STRIPETOPUP_RATE_LIMIT_STORAGE_URI``: ``memory://``
for one process, Redis or memcached to share them between workers and instances. If that
storage fails, requests are let through (logged once): availability of payments comes first.

Built from settings by :func:`install` at app creation; nothing happens at import time.
May import fastapi/starlette/uvicorn, limits, stripetopup.config, stripetopup.errors and
stripetopup.metrics.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar, cast

from fastapi import FastAPI, Request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError, StorageError
from limits.storage import MovingWindowSupport, Storage, storage_from_string
from limits.strategies import (
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from stripetopup import metrics
from stripetopup.config import Settings
from stripetopup.errors import AuthError, ConfigError, Forbidden, RateLimited

log = logging.getLogger(__name__)
T = TypeVar("T")
IPV6_BLOCK = 64
REDIS_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}


def install(app: FastAPI, settings: Settings) -> None:
    """Put the limits on ``app.state`` and believe X-Forwarded-For from trusted proxies."""
    app.state.rate_limits = RateLimits(settings)
    if settings.trusted_proxies:
        # Added last, so outermost: every part of the app sees the real client address.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)


def behind_trusted_proxies(app: ASGIApp, settings: Settings) -> ASGIApp:
    """``app`` believing X-Forwarded-For from the trusted proxies, as :func:`install` makes
    the FastAPI app: for a door served in front of it (web.webhook_door)."""
    if not settings.trusted_proxies:
        return app
    # uvicorn types its middleware with its own, narrower ASGI types than starlette's.
    proxied = ProxyHeadersMiddleware(app, trusted_hosts=settings.trusted_proxies)  # type: ignore[arg-type]
    return cast(ASGIApp, proxied)


def address_of(request: Request) -> str:
    """The key a client address is counted under (IPv6: its /64 network)."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:100] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_BLOCK), strict=False))
    return str(ip)


# The door's calls: each is one line in a route ------------------------------------------


def authenticated(
    request: Request, authenticate: Callable[[str | None], T], authorization: str | None
) -> T:
    """``authenticate(authorization)`` under the failed-authentication limit (sync: run it
    in the threadpool). A missing credential is 401 but not counted: it guesses nothing."""
    limits = _of(request)
    address = address_of(request)
    limits.refuse_failing_address(address)
    try:
        return authenticate(authorization)
    except Forbidden:  # a valid credential at the wrong door: nothing was guessed
        raise
    except AuthError:
        if authorization:
            limits.count_auth_failure(address)
        raise


def count_checkout(request: Request, account_id: str) -> None:
    """Take one checkout session from the account's and the address's allowance, or 429."""
    _of(request).take_checkout(account_id, address_of(request))


def count_forgery(request: Request) -> None:
    """Count one delivery whose signature failed against its address; RateLimited (429)
    once the address is over its limit. Off the event loop: the storage may be remote."""
    refusal = _of(request).count_forged_signature(address_of(request))
    if refusal is not None:
        raise refusal


def _of(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


# The limits themselves -------------------------------------------------------------------


class RateLimits:
    """The app's three limits over one ``limits`` storage."""

    def __init__(self, settings: Settings) -> None:
        self.storage: Storage = _storage(settings)
        self.limiter: RateLimiter = (
            MovingWindowRateLimiter(self.storage)
            if isinstance(self.storage, MovingWindowSupport)
            else SlidingWindowCounterRateLimiter(self.storage)  # memcached has no moving window
        )
        self.prefix = settings.rate_limit_key_prefix
        self.auth_failures = parse_many(settings.rate_limit_auth_failures)
        self.checkout_per_account = parse_many(settings.rate_limit_checkout_per_account)
        self.checkout_per_address = parse_many(settings.rate_limit_checkout_per_address)
        self.forged_signatures = parse_many(settings.rate_limit_forged_signatures)
        self._storage_down = False
        self._lock = threading.Lock()

    def refuse_failing_address(self, address: str) -> None:
        """RateLimited while ``address`` has used up its failed authentications."""
        for item in self.auth_failures:
            if not self._test(item, "auth-failures", address):
                raise self._refusal(
                    item, ("auth-failures", address), "too many failed authentications from "
                )

    def count_auth_failure(self, address: str) -> None:
        for item in self.auth_failures:
            if self._hit(item, "auth-failures", address) and not self._test(
                item, "auth-failures", address
            ):
                log.warning(
                    "rate limit: %s failed authentications from %s; refusing it for now",
                    item,
                    address,
                )

    def take_checkout(self, account_id: str, address: str) -> None:
        """Count one checkout session, or RateLimited when over a limit (counting nothing,
        unless a concurrent request took the last slot between the test and the hit)."""
        wanted = [(item, ("checkout-account", account_id)) for item in self.checkout_per_account]
        wanted += [(item, ("checkout-address", address)) for item in self.checkout_per_address]
        for item, keys in wanted:
            if not self._test(item, *keys):
                raise self._refusal(item, keys, "too many checkout sessions ")
        for item, keys in wanted:
            if not self._hit(item, *keys):  # another request took the last one meanwhile
                raise self._refusal(item, keys, "too many checkout sessions ")
            if not self._test(item, *keys):
                log.warning("rate limit: %s checkout sessions for %s %s reached", item, *keys)

    def count_forged_signature(self, address: str) -> RateLimited | None:
        """Count one failed signature; the refusal to answer instead when over the limit."""
        for item in self.forged_signatures:
            if not self._hit(item, "forged-signatures", address):
                return self._refusal(
                    item,
                    ("forged-signatures", address),
                    "too many webhook deliveries with an invalid Stripe-Signature ",
                )
            if not self._test(item, "forged-signatures", address):
                log.warning(
                    "rate limit: %s webhook deliveries with a bad signature from %s "
                    "(if this is Stripe, check STRIPE_WEBHOOK_SECRET)",
                    item,
                    address,
                )
        return None

    def _refusal(self, item: RateLimitItem, keys: tuple[str, str], what: str) -> RateLimited:
        kind, subject = keys
        whom = "for this account" if kind == "checkout-account" else "from this address"
        # Debug only: a flood of refusals must not become a flood of log lines; the
        # warning is logged once, when the limit is reached.
        log.debug("rate limited: %s %s (%s)", kind, subject, item)
        metrics.count_rate_limited(kind)
        retry = self._retry_after(item, *keys)
        return RateLimited(f"{what}{whom}; retry in {retry} seconds", retry_after_seconds=retry)

    # Storage calls: a failing shared storage lets requests through rather than block them.
    def _test(self, item: RateLimitItem, *keys: str) -> bool:
        return self._safely(lambda: self.limiter.test(item, self.prefix, *keys), True)

    def _hit(self, item: RateLimitItem, *keys: str) -> bool:
        return self._safely(lambda: self.limiter.hit(item, self.prefix, *keys), True)

    def _retry_after(self, item: RateLimitItem, *keys: str) -> int:
        reset = self._safely(
            lambda: self.limiter.get_window_stats(item, self.prefix, *keys).reset_time,
            time.time() + item.get_expiry(),
        )
        return max(1, math.ceil(reset - time.time()))

    def _safely(self, call: Callable[[], T], fallback: T) -> T:
        try:
            answer = call()
        except StorageError as exc:
            self._note_storage(down=True, cause=type(exc.storage_error).__name__)
            return fallback
        if self._storage_down:
            self._note_storage(down=False, cause="")
        return answer

    def _note_storage(self, *, down: bool, cause: str) -> None:
        with self._lock:
            if self._storage_down == down:
                return
            self._storage_down = down
        if down:
            log.error("rate limit storage failed (%s): requests are not rate limited", cause)
        else:
            log.warning("rate limit storage is back: rate limiting again")


def _storage(settings: Settings) -> Storage:
    uri = settings.rate_limit_storage_uri.get_secret_value()
    # An unreachable Redis must cost a request a second at most, not a TCP timeout;
    # the URI's own ?socket_timeout=... wins over these.
    options = REDIS_TIMEOUTS if uri.startswith(("redis://", "rediss://", "redis+unix://")) else {}
    try:
        storage = storage_from_string(uri, wrap_exceptions=True, **options)
    except ConfigurationError:  # its message may repeat the URI, which may hold a password
        raise ConfigError(
            "STRIPETOPUP_RATE_LIMIT_STORAGE_URI cannot be used: malformed, or its driver is missing"
        ) from None
    assert isinstance(storage, Storage)  # the settings refuse the async+ schemes
    return storage
