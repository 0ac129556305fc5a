"""Stripe's ``Idempotency-Key`` semantics: replay the first response, refuse reuse with new params.

Results are scoped per API key, kept for 24 hours of emulator time, and saved only for
requests that were carried out: successes and card declines (like Stripe, which does not save
results of failed validation).
Imports only the stdlib.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from stripetopup.emulator.state import EmulatorState, IdempotentResult
from stripetopup.emulator.stripe_errors import StripeError

TTL_SECONDS = 24 * 3600


def _fingerprint(body: bytes) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(parse_qsl(body.decode("utf-8"), keep_blank_values=True)))


def lookup(
    state: EmulatorState, api_key: str, key: str, method: str, path: str, body: bytes
) -> IdempotentResult | None:
    """The saved result for a replay, None for a new key, or Stripe's idempotency_error."""
    saved = state.idempotency.get((api_key, key))
    if saved is None or saved.created < state.clock.now() - TTL_SECONDS:
        return None
    if (saved.method, saved.path) != (method, path):
        raise StripeError(
            400,
            "Keys for idempotent requests can only be used for the same endpoint they were "
            f"first used for ('{saved.method} {saved.path}' vs '{method} {path}'). Try using "
            f"a key other than '{key}' if you meant to execute a different request.",
            type="idempotency_error",
        )
    if saved.fingerprint != _fingerprint(body):
        raise StripeError(
            400,
            "Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{key}' if you meant to "
            "execute a different request.",
            type="idempotency_error",
        )
    return saved


def remember(
    state: EmulatorState,
    api_key: str,
    key: str,
    method: str,
    path: str,
    body: bytes,
    response: bytes,
    request_id: str,
    status: int = 200,
) -> None:
    state.idempotency[(api_key, key)] = IdempotentResult(
        method=method,
        path=path,
        fingerprint=_fingerprint(body),
        status=status,
        body=response,
        request_id=request_id,
        created=state.clock.now(),
    )
