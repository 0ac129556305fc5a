"""The domain error tree. A leaf module: imports nothing from stripetopup.

Every door (CLI, web, Python API) catches these and translates them exactly once::

    StripeTopupError                  base of everything we raise on purpose
    ├── ConfigError                   a setting is missing or makes no sense (exit 2)
    ├── UsageError                    the caller's input is invalid (exit 2, HTTP 400/422)
    │   ├── InvalidAmount             an amount is not a positive whole number of cents in range
    │   ├── InvalidDate               a date/time or relative window cannot be parsed
    │   ├── InvalidAccountId          an account id no account can have, or a new one off the rule
    │   ├── InvalidHoldId             a hold id that is not hold_ and 24 hex digits
    │   └── OriginNotAllowed          a request's Origin is not in ALLOWED_FRONTEND_ORIGINS
    ├── AuthError                     no credential, or one that is invalid/revoked (HTTP 401)
    │   ├── Forbidden                 a valid credential of the wrong kind (HTTP 403)
    │   └── LinkRefused               a signed top-up link we refuse (HTTP 403, nothing created)
    │       ├── LinkMissing           no link at all
    │       ├── LinkTampered          not signed by us, malformed, or for another purpose
    │       ├── LinkWrongAccount      signed for another account than the one it is used on
    │       └── LinkExpired           past its expiry (HTTP 410)
    ├── NotFound                      an account, event, token or payment does not exist
    ├── Conflict                      an idempotency key was reused with different input (409)
    │   ├── HoldNotOpen               a hold is captured, released or expired, so it cannot do that
    │   └── PaymentStateError         a payment cannot be assigned or dismissed in its state
    ├── InsufficientFunds             a debit or hold exceeds the available balance (402)
    ├── WebhookError                  a webhook delivery we refuse (HTTP 400, nothing applied)
    │   ├── SignatureError            missing/invalid Stripe-Signature or stale timestamp
    │   └── PayloadError              the verified body is not a Stripe event
    ├── ProcessingError               applying an event failed; recorded, Stripe retries (500)
    ├── StripeUnavailable             Stripe (or the emulator) refused or could not be reached
    ├── DatabaseError                 the database is unreachable or not migrated
    └── RateLimited                   a client went over a rate limit; retry later (HTTP 429)

Messages are safe to show: they never contain a secret.
"""

from __future__ import annotations


class StripeTopupError(Exception):
    """Raised for every failure stripetopup reports on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(StripeTopupError):
    """Raised when a setting is missing or invalid."""

    code = "configuration_error"


class UsageError(StripeTopupError):
    """Raised when the caller's input is invalid."""

    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class InvalidAmount(UsageError):
    """Raised when an amount is malformed, not positive or outside the configured bounds."""

    code = "invalid_amount"


class InvalidDate(UsageError):
    """Raised when a date, time or relative window cannot be parsed or lies in the future."""

    code = "invalid_date"


class InvalidAccountId(UsageError):
    """Raised when an account id breaks the rule in :mod:`stripetopup.ids`."""

    code = "invalid_account_id"


class InvalidHoldId(UsageError):
    """Raised when a hold id does not have the shape of the ids we generate."""

    code = "invalid_hold_id"


class OriginNotAllowed(UsageError):
    """Raised when a request's Origin is missing or not in ALLOWED_FRONTEND_ORIGINS."""

    code = "origin_not_allowed"


class AuthError(StripeTopupError):
    """Raised when a credential is missing, malformed, unknown, expired or revoked."""

    code = "unauthorized"


class Forbidden(AuthError):
    """Raised when a valid credential is presented at a door it does not open."""

    code = "forbidden"


class LinkRefused(AuthError):
    """Raised when a signed top-up or landing link cannot be honoured; nothing is created."""

    code = "link_refused"


class LinkMissing(LinkRefused):
    """Raised when a page that needs a signed link was opened without one."""

    code = "link_missing"


class LinkTampered(LinkRefused):
    """Raised when a link is malformed, not signed with our secret, or for another use."""

    code = "link_invalid"


class LinkWrongAccount(LinkRefused):
    """Raised when a valid link is used for another account than the one it was signed for."""

    code = "link_wrong_account"


class LinkExpired(LinkRefused):
    """Raised when a correctly signed link is past its expiry."""

    code = "link_expired"


class NotFound(StripeTopupError):
    """Raised when an account, event, token, key or payment does not exist."""

    code = "not_found"


class Conflict(StripeTopupError):
    """Raised when an idempotency key is reused with different input."""

    code = "idempotency_conflict"


class HoldNotOpen(Conflict):
    """Raised when a hold is captured, released or expired and the operation needs it open."""

    code = "hold_not_open"


class PaymentStateError(Conflict):
    """Raised when a payment's state (ours or Stripe's) does not allow an assign or dismiss."""

    code = "payment_state"


class NoSavedCard(Conflict):
    """Raised when auto-recharge is set or resumed for an account without a saved card
    whose buyer consented to it."""

    code = "no_saved_card"


class InsufficientFunds(StripeTopupError):
    """Raised when a debit or hold exceeds the available balance."""

    code = "insufficient_funds"

    def __init__(self, message: str, *, available_cents: int, requested_cents: int) -> None:
        super().__init__(message)
        self.available_cents = available_cents
        self.requested_cents = requested_cents


class WebhookError(StripeTopupError):
    """Raised when a webhook delivery is refused before anything is applied."""

    code = "invalid_webhook"


class SignatureError(WebhookError):
    """Raised when Stripe-Signature is missing, malformed, wrong or outside the tolerance."""

    code = "invalid_signature"


class PayloadError(WebhookError):
    """Raised when a correctly signed body is not a Stripe event."""

    code = "invalid_payload"


class ProcessingError(StripeTopupError):
    """Raised when applying a recorded event failed; the failure is stored and Stripe retries."""

    code = "processing_failed"


class StripeUnavailable(StripeTopupError):
    """Raised when Stripe refuses a call or cannot be reached."""

    code = "stripe_error"

    # Statuses that say "not now" rather than "never": a key or permission the operator
    # fixes, the same Idempotency-Key still in flight (another worker), a rate limit.
    _TRY_AGAIN = frozenset({401, 403, 409, 429})

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status

    @property
    def refused(self) -> bool:
        """True when Stripe refused the request itself, so the same request fails again:
        a 4xx other than the try-again statuses. Unreachable (no status) is not refused."""
        status = self.http_status
        return status is not None and 400 <= status < 500 and status not in self._TRY_AGAIN


class CardDeclined(StripeUnavailable):
    """Raised when Stripe answers an off-session charge with a 402 ``card_error``: declined,
    or ``authentication_required``. Carries Stripe's codes and the PaymentIntent it kept."""

    code = "card_declined"

    def __init__(
        self,
        message: str,
        *,
        stripe_code: str | None,
        decline_code: str | None,
        payment_intent_id: str | None,
    ) -> None:
        super().__init__(message, http_status=402)
        self.stripe_code = stripe_code
        self.decline_code = decline_code
        self.payment_intent_id = payment_intent_id


class DatabaseError(StripeTopupError):
    """Raised when the database is unreachable or its schema is not at the expected revision."""

    code = "database_error"


class RateLimited(StripeTopupError):
    """Raised when a client address or account is over a rate limit; it may retry later."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
