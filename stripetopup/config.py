"""Settings: one pydantic-settings class, read from the environment and ``.env``.

Built at the edge (CLI callback, ``serve``, the host application) and passed down; nothing
here runs at import time. Secrets are ``SecretStr`` and validation errors never echo input.
A leaf module: imports pydantic, ``limits`` (to check rate limit strings),
``stripetopup.errors`` and ``stripetopup.dates`` (to check spans such as ``365d``) only.
"""

from __future__ import annotations

import functools
import importlib.util
import ipaddress
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stripetopup.dates import parse_duration
from stripetopup.errors import ConfigError, InvalidDate

_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$")
_LABEL_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
ENV_FILE_VARIABLE = "STRIPETOPUP_ENV_FILE"
DEFAULT_PRESETS = (50, 500, 1000, 2000, 5000, 10000)
MIN_LINK_TTL_SECONDS = 60
MAX_LINK_TTL_SECONDS = 60 * 60
MIN_LINK_SECRET_LENGTH = 32
# Outbound webhooks: the waits between attempts (5s, 5m, 30m, 2h, 5h, 10h, 10h, 14h, 24h,
# 24h: eleven attempts over 3 days and 18 hours), and the most waits a schedule may list.
DEFAULT_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 86400, 86400)
MAX_RETRIES = 30
# Rate limit storage schemes we support -> the driver package each needs ("" = none).
_RATE_LIMIT_STORAGES = {
    "memory": "",
    "redis": "redis",
    "rediss": "redis",
    "redis+unix": "redis",
    "redis+sentinel": "redis",
    "redis+cluster": "redis",
    "memcached": "pymemcache",
}


@dataclass(frozen=True)
class WebhookSecret:
    """One signing secret, with the label the event log records when it matches."""

    label: str
    secret: SecretStr


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _no_items() -> list[str]:
    # Not ``default_factory=list``: pydantic reads a factory's signature, and a builtin's
    # is parsed from text through tokenize's regex (~7 ms of every command's start).
    return []


def normalize_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and pin the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Everything stripetopup can be configured with; see ``.env.example`` for each variable."""

    model_config = SettingsConfigDict(
        env_prefix="STRIPETOPUP_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    stripe_secret_key: SecretStr | None = Field(None, validation_alias="STRIPE_SECRET_KEY")
    stripe_webhook_secret: SecretStr | None = Field(None, validation_alias="STRIPE_WEBHOOK_SECRET")
    stripe_currency: str = Field("usd", validation_alias="STRIPE_CURRENCY")
    stripe_api_base: str | None = Field(None, validation_alias="STRIPE_API_BASE")
    database_url: str = Field("sqlite:///./stripetopup.db", validation_alias="DATABASE_URL")
    allowed_frontend_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=_no_items, validation_alias="ALLOWED_FRONTEND_ORIGINS"
    )

    min_amount_cents: int = Field(50, ge=50)
    max_amount_cents: int = Field(1_000_000, ge=50)
    presets_cents: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_PRESETS)
    )
    success_path: str = "/billing/success?session_id={CHECKOUT_SESSION_ID}"
    cancel_path: str = "/billing/cancel"
    product_name: str = "Account credit"
    jwt_secret: SecretStr | None = None
    jwt_audience: str | None = None
    webhook_tolerance_seconds: int = Field(300, ge=1, le=3600)
    webhook_max_body_bytes: int = Field(1024 * 1024, ge=1024)
    pending_max_age_hours: int = Field(72, ge=1)
    hold_ttl_seconds: int = Field(15 * 60, ge=1)
    # Outbound events: balance.low below this available balance (cents) unless an account
    # has its own threshold; unset (or empty) sends no low-balance alerts by default.
    low_balance_threshold_cents: int | None = Field(None, ge=0, le=2**31 - 1)
    stripe_max_network_retries: int = Field(2, ge=0, le=10)
    stripe_timeout_seconds: float = Field(30.0, gt=0)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Request bounds: the body limit of every route but the webhook.
    api_max_body_bytes: int = Field(16 * 1024, ge=1024)
    # Refused settings only some commands need (see load_settings): variable -> why.
    _problems: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator(
        "stripe_secret_key",
        "stripe_webhook_secret",
        "jwt_secret",
        "jwt_audience",
        "low_balance_threshold_cents",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `STRIPE_SECRET_KEY=` (a line left empty in .env) means "not set", not a bad key;
        # and an empty JWT secret must never turn JWT checking on.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("allowed_frontend_origins", mode="before")
    @classmethod
    def _origins_from_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("presets_cents", mode="before")
    @classmethod
    def _presets_from_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("allowed_frontend_origins")
    @classmethod
    def _origins_are_origins(cls, origins: list[str]) -> list[str]:
        cleaned = []
        for origin in origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    "each origin needs a scheme and a host, like https://app.example.com"
                )
            if parts.path not in ("", "/") or parts.query or parts.fragment:
                raise ValueError("an origin has no path, query or fragment")
            cleaned.append(f"{parts.scheme}://{parts.netloc}".lower())
        return cleaned

    @field_validator("stripe_currency")
    @classmethod
    def _currency_is_iso(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise ValueError("must be a three-letter ISO currency code such as usd")
        return value.lower()

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = normalize_database_url(value.strip())
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("stripe_secret_key")
    @classmethod
    def _key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _KEY_PATTERN.match(value.get_secret_value()):
            raise ValueError("must be an sk_test_, sk_live_, rk_test_ or rk_live_ key")
        return value

    @field_validator("stripe_webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _parse_webhook_secrets(value.get_secret_value())
        return value

    @field_validator("stripe_api_base")
    @classmethod
    def _api_base(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:12111")
        # Checked here (the key is validated first) so the error names this variable.
        key = info.data.get("stripe_secret_key")
        if isinstance(key, SecretStr) and "_live_" in key.get_secret_value()[:8]:
            raise ValueError("a live Stripe key may not be sent to STRIPE_API_BASE (emulator)")
        return value.rstrip("/")

    @field_validator("max_amount_cents")
    @classmethod
    def _max_above_min(cls, value: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min_amount_cents")
        if isinstance(minimum, int) and value < minimum:
            raise ValueError("is below STRIPETOPUP_MIN_AMOUNT_CENTS")
        return value

    # Rate limiting (web/ratelimit.py), in the `limits` syntax such as "10/minute;50/hour"
    rate_limit_auth_failures: str = "30/minute"
    rate_limit_checkout_per_account: str = "10/minute;50/hour"
    rate_limit_checkout_per_address: str = "60/minute;600/hour"
    rate_limit_forged_signatures: str = "10/minute"
    rate_limit_storage_uri: SecretStr = SecretStr("memory://")
    rate_limit_key_prefix: str = Field("stripetopup", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=_no_items)

    @field_validator(
        "rate_limit_auth_failures",
        "rate_limit_checkout_per_account",
        "rate_limit_checkout_per_address",
        "rate_limit_forged_signatures",
    )
    @classmethod
    def _rate_limit_syntax(cls, value: str, info: ValidationInfo) -> str:
        # A default is known good (tests/test_settings_first_run.py parses each one): every
        # command reads settings, and `limits` is slow to import for the quick ones.
        if info.field_name is not None and value == cls.model_fields[info.field_name].default:
            return value
        from limits import parse_many

        try:
            items = parse_many(value)
        except ValueError:
            raise ValueError(
                'must be rate limits such as "30/minute" or "10/minute;50/hour"'
            ) from None
        if any(item.amount < 1 for item in items):
            raise ValueError("a rate limit must allow at least 1 request per window")
        return value

    @field_validator("rate_limit_storage_uri")
    @classmethod
    def _rate_limit_storage(cls, value: SecretStr) -> SecretStr:
        scheme = urlsplit(value.get_secret_value()).scheme
        driver = _RATE_LIMIT_STORAGES.get(scheme)
        if driver is None:
            raise ValueError(
                "must be memory://, redis://host:port (also rediss://, redis+sentinel://, "
                "redis+cluster://) or memcached://host:port"
            )
        if driver and importlib.util.find_spec(driver) is None:
            raise ValueError(f"{scheme}:// needs the {driver} package (pip install {driver})")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies_from_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    "each trusted proxy must be an IP address or network, like 10.0.0.0/8"
                ) from None
        return proxies

    # Metrics: /metrics answers only this bearer token; unset (or empty) turns it off.
    metrics_token: SecretStr | None = None
    # Metrics: reconcile writes its last run's differences here (node_exporter textfile).
    reconcile_metrics_file: Path | None = None

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # compose passes an unset variable as ""
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (a long random string)")
        return value

    @field_validator("reconcile_metrics_file", mode="before")
    @classmethod
    def _reconcile_metrics_file(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    # Tax, discounts and receipts: what Checkout Sessions ask of Stripe, and what is credited.
    automatic_tax: bool = False
    invoice_creation: bool = False
    allow_promotion_codes: bool = False
    discount_credit: Literal["paid", "undiscounted"] = "paid"

    # The hosted top-up page (web/routes/topup.py): off unless asked for; when on, the
    # links are signed with the secret and every URL is built on PUBLIC_URL, never on the
    # request's Host header.
    topup_page: bool = False
    topup_link_secret: SecretStr | None = None
    topup_link_ttl: int = Field(15 * 60, ge=MIN_LINK_TTL_SECONDS, le=MAX_LINK_TTL_SECONDS)
    public_url: str | None = None

    @field_validator("topup_link_secret", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("topup_link_secret")
    @classmethod
    def _link_secret_is_long(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_LINK_SECRET_LENGTH:
            raise ValueError(
                f"must be at least {MIN_LINK_SECRET_LENGTH} characters (a long random string)"
            )
        return value

    @field_validator("topup_link_ttl", mode="before")
    @classmethod
    def _ttl_with_unit(cls, value: Any) -> Any:
        return _seconds(value, "STRIPETOPUP_TOPUP_LINK_TTL") if isinstance(value, str) else value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_an_origin(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be the app's public origin, like https://pay.example.com")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("an origin has no path, query or fragment")
        return f"{parts.scheme}://{parts.netloc}".lower()

    # Outbound webhooks (core/outbound): delivery to the host application's endpoints.
    # The waits between attempts, in seconds (STRIPETOPUP_HOOKS_RETRY_SCHEDULE=5s,5m,30m,...).
    hooks_retry_schedule: Annotated[tuple[int, ...], NoDecode] = DEFAULT_RETRY_SCHEDULE
    hooks_timeout_seconds: float = Field(10.0, gt=0, le=60)
    hooks_disable_after: int = Field(5 * 86400, ge=60)  # seconds failing before disabling
    hooks_lease_seconds: int = Field(300, ge=5, le=86400)
    hooks_allow_http: bool = False
    hooks_worker: bool = True
    hooks_poll_seconds: float = Field(1.0, ge=0.05, le=60)
    hooks_concurrency: int = Field(8, ge=1, le=64)

    @field_validator("hooks_retry_schedule", mode="before")
    @classmethod
    def _retry_schedule(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        waits = _split_csv(value)
        if not 1 <= len(waits) <= MAX_RETRIES:
            raise ValueError(f"must list 1 to {MAX_RETRIES} waits, like 5s,5m,30m,2h")
        return tuple(_seconds(wait, "STRIPETOPUP_HOOKS_RETRY_SCHEDULE") for wait in waits)

    @field_validator("hooks_retry_schedule")
    @classmethod
    def _retry_waits(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not 1 <= len(value) <= MAX_RETRIES or any(not 1 <= w <= 7 * 86400 for w in value):
            raise ValueError(f"must list 1 to {MAX_RETRIES} waits of 1s to 7d")
        return value

    @field_validator("hooks_disable_after", mode="before")
    @classmethod
    def _disable_after(cls, value: Any) -> Any:
        return (
            _seconds(value, "STRIPETOPUP_HOOKS_DISABLE_AFTER") if isinstance(value, str) else value
        )

    @field_validator("hooks_lease_seconds")
    @classmethod
    def _lease_outlasts_attempt(cls, value: int, info: ValidationInfo) -> int:
        timeout = info.data.get("hooks_timeout_seconds")
        if isinstance(timeout, float) and value < 3 * timeout:
            raise ValueError("must be at least three times STRIPETOPUP_HOOKS_TIMEOUT_SECONDS")
        return value

    # Credit grants: how long a paid top-up's grant lasts ("never", or a span such as 365d),
    # and how often serve's job writes off expired grants.
    paid_credit_expires: str = "never"
    grant_expiry_interval_seconds: int = Field(60, ge=1, le=86400)

    # Auto-recharge: how many declined charges in a row pause an account's rule (1: the
    # first). Never a retry loop: a declined attempt ends, and the next waits for another
    # debit crossing the threshold after the cooldown, within the monthly cap.
    auto_recharge_max_declines: int = Field(1, ge=1, le=10)

    @field_validator("paid_credit_expires")
    @classmethod
    def _paid_credit_expires(cls, value: str) -> str:
        text = value.strip().lower()
        if text != "never":
            try:
                span = parse_duration(text, param="STRIPETOPUP_PAID_CREDIT_EXPIRES")
            except InvalidDate:
                span = timedelta(0)
            if span <= timedelta(0):
                raise ValueError("use never or a span such as 365d, 12w or 720h")
        return text

    # What the settings mean, and the checks of the commands that need one of them.
    @property
    def paid_credit_ttl(self) -> timedelta | None:
        """How long a paid top-up's grant lasts; None: it never expires."""
        if self.paid_credit_expires == "never":
            return None
        return parse_duration(self.paid_credit_expires, param="STRIPETOPUP_PAID_CREDIT_EXPIRES")

    @property
    def livemode(self) -> bool:
        """True for ``sk_live_``/``rk_live_`` keys: events of the other mode are not credited."""
        key = self.stripe_secret_key
        return key is not None and "_live_" in key.get_secret_value()[:8]

    @property
    def is_restricted_key(self) -> bool:
        key = self.stripe_secret_key
        return key is not None and key.get_secret_value().startswith("rk_")

    @property
    def webhook_secrets(self) -> tuple[WebhookSecret, ...]:
        if self.stripe_webhook_secret is None:
            return ()
        return _parse_webhook_secrets(self.stripe_webhook_secret.get_secret_value())

    @property
    def problems(self) -> dict[str, str]:
        """Settings that were refused when loaded, by variable name (see :func:`load_settings`).

        Only settings some commands never use end up here; the rest stop the load.
        """
        return dict(self._problems)

    def require_stripe_key(self) -> SecretStr:
        """The API key, or a ConfigError naming the variable to set."""
        self._raise_if_refused("STRIPE_SECRET_KEY")
        if self.stripe_secret_key is None:
            raise ConfigError(
                "STRIPE_SECRET_KEY is not set: this command calls Stripe "
                "(set an sk_ or rk_ key in .env or the environment)"
            )
        return self.stripe_secret_key

    def require_webhook_secrets(self) -> tuple[WebhookSecret, ...]:
        self._raise_if_refused("STRIPE_WEBHOOK_SECRET")
        secrets = self.webhook_secrets
        if not secrets:
            raise ConfigError(
                "STRIPE_WEBHOOK_SECRET is not set: webhooks cannot be verified "
                "(set the endpoint's whsec_ signing secret in .env or the environment)"
            )
        return secrets

    def require_topup_page(self) -> tuple[SecretStr, str]:
        """The link secret and PUBLIC_URL, or a ConfigError saying what the page needs."""
        if not self.topup_page:
            raise ConfigError(
                "the hosted top-up page is off (set STRIPETOPUP_TOPUP_PAGE=true, "
                "STRIPETOPUP_TOPUP_LINK_SECRET and STRIPETOPUP_PUBLIC_URL)"
            )
        if self.topup_link_secret is None:
            raise ConfigError(
                "STRIPETOPUP_TOPUP_LINK_SECRET is not set: the top-up page signs its links "
                f"with it (at least {MIN_LINK_SECRET_LENGTH} random characters)"
            )
        if self.public_url is None:
            raise ConfigError(
                "STRIPETOPUP_PUBLIC_URL is not set: the top-up links and the return URLs "
                "are built on it (e.g. https://pay.example.com)"
            )
        return self.topup_link_secret, self.public_url

    def _raise_if_refused(self, variable: str) -> None:
        if variable in self._problems:
            raise ConfigError(f"invalid configuration: {variable}: {self._problems[variable]}")


def _seconds(text: str, variable: str) -> int:
    """``5m`` -> 300 (``300`` too) for a setting; ValueError (naming no value) otherwise."""
    if text.strip().isdigit():
        return int(text.strip())
    try:
        return int(parse_duration(text, param=variable).total_seconds())
    except InvalidDate:
        raise ValueError("must be lengths of time like 30s, 5m, 24h or 5d") from None


@functools.lru_cache(maxsize=8)  # read on every delivery; the answer is immutable
def _parse_webhook_secrets(raw: str) -> tuple[WebhookSecret, ...]:
    """``whsec_a,new:whsec_b`` -> secrets labelled ``1`` and ``new``."""
    secrets = []
    for index, item in enumerate(_split_csv(raw), start=1):
        label, _, secret = item.rpartition(":")
        label = label or str(index)
        if not secret.startswith("whsec_") or len(secret) <= len("whsec_"):
            raise ValueError("each webhook secret must start with whsec_ (label:whsec_... allowed)")
        if not _LABEL_PATTERN.match(label):
            raise ValueError("a webhook secret label may use letters, digits, '_', '.', '-'")
        secrets.append(WebhookSecret(label=label, secret=SecretStr(secret)))
    if not secrets:
        raise ValueError("no webhook secret given")
    return tuple(secrets)


# Settings only the commands that call Stripe or verify webhooks use. A bad one is kept
# aside (Settings.problems) and refused by require_stripe_key/require_webhook_secrets, so
# `accounts list` or `ledger` still run; any other bad setting stops every command.
_NEEDED_BY_SOME = frozenset({"stripe_secret_key", "stripe_webhook_secret"})


def load_settings(*, keep_going: bool = False, **overrides: Any) -> Settings:
    """Build Settings from the environment, the env file and overrides; errors: ConfigError.

    The env file is ``$STRIPETOPUP_ENV_FILE`` when set (``--env-file`` sets it), else ``.env``.
    The message names each offending variable and why, never its value. With
    ``keep_going`` (``doctor``) no bad setting stops the load: each is left at its default
    and reported in ``Settings.problems``.
    """
    overrides.setdefault("_env_file", os.environ.get(ENV_FILE_VARIABLE, ".env"))
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        refused = _refused(exc)
    if not keep_going and not set(refused) <= _NEEDED_BY_SOME:
        shown = "; ".join(f"{_variable_name((f,))}: {why}" for f, why in refused.items())
        raise ConfigError("invalid configuration: " + shown) from None
    kept = {k: v for k, v in overrides.items() if _field_named(k) not in refused}
    defaults = dict(_default(field) for field in refused if field in Settings.model_fields)
    try:
        settings = Settings(**{**kept, **defaults})
    except ValidationError as exc:  # a rule across settings, with the defaults back in
        shown = "; ".join(f"{_variable_name((f,))}: {why}" for f, why in _refused(exc).items())
        raise ConfigError("invalid configuration: " + shown) from None
    settings._problems = {_variable_name((field,)): why for field, why in refused.items()}
    return settings


def _refused(exc: ValidationError) -> dict[str, str]:
    """Field name (or "settings" for a rule across fields) -> why it was refused."""
    refused: dict[str, str] = {}
    for error in exc.errors(include_input=False, include_url=False):
        field = _field_named(str(error["loc"][0])) if error["loc"] else "settings"
        refused.setdefault(field, error["msg"].removeprefix("Value error, "))
    return refused


def _field_named(name: str) -> str:
    """The field a validation error's location names (an alias, like STRIPE_SECRET_KEY)."""
    for field, info in Settings.model_fields.items():
        if info.validation_alias == name:
            return field
    return name


def _default(field: str) -> tuple[str, Any]:
    """``(name, default)`` for an override that beats the environment: an aliased field is
    overridden by its alias (given both, pydantic would read the alias, the bad value)."""
    info = Settings.model_fields[field]
    name = info.validation_alias if isinstance(info.validation_alias, str) else field
    return name, info.get_default(call_default_factory=True)


def _variable_name(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "settings"
    field = str(loc[0])
    info = Settings.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, str):
        return info.validation_alias
    return f"STRIPETOPUP_{field.upper()}" if field in Settings.model_fields else field
