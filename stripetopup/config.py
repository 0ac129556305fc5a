"""Settings: one pydantic-settings class, read from the environment and ``.env``.

Built at the edge (CLI callback, ``serve``, the host application) and passed down; nothing
here runs at import time. Secrets are ``SecretStr`` and validation errors never echo input.
A leaf module: imports pydantic and ``stripetopup.errors`` only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stripetopup.errors import ConfigError

_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$")
_LABEL_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
ENV_FILE_VARIABLE = "STRIPETOPUP_ENV_FILE"
DEFAULT_PRESETS = (50, 500, 1000, 2000, 5000, 10000)


@dataclass(frozen=True)
class WebhookSecret:
    """One signing secret, with the label the event log records when it matches."""

    label: str
    secret: SecretStr


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


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
        default_factory=list, validation_alias="ALLOWED_FRONTEND_ORIGINS"
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
    stripe_max_network_retries: int = Field(2, ge=0, le=10)
    stripe_timeout_seconds: float = Field(30.0, gt=0)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

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
    def _api_base(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:12111")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.max_amount_cents < self.min_amount_cents:
            raise ValueError("STRIPETOPUP_MAX_AMOUNT_CENTS is below STRIPETOPUP_MIN_AMOUNT_CENTS")
        if self.stripe_api_base and self.livemode:
            raise ValueError("a live Stripe key may not be sent to STRIPE_API_BASE (emulator)")
        return self

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

    def require_stripe_key(self) -> SecretStr:
        """The API key, or a ConfigError naming the variable to set."""
        if self.stripe_secret_key is None:
            raise ConfigError("STRIPE_SECRET_KEY is not set (an sk_ or rk_ key from Stripe)")
        return self.stripe_secret_key

    def require_webhook_secrets(self) -> tuple[WebhookSecret, ...]:
        secrets = self.webhook_secrets
        if not secrets:
            raise ConfigError("STRIPE_WEBHOOK_SECRET is not set (the whsec_ signing secret)")
        return secrets

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


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment, the env file and overrides; errors: ConfigError.

    The env file is ``$STRIPETOPUP_ENV_FILE`` when set (``--env-file`` sets it), else ``.env``.
    The message names each offending variable and why, never its value.
    """
    overrides.setdefault("_env_file", os.environ.get(ENV_FILE_VARIABLE, ".env"))
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            name = _variable_name(error["loc"])
            problems.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


def _variable_name(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "settings"
    field = str(loc[0])
    info = Settings.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, str):
        return info.validation_alias
    return f"STRIPETOPUP_{field.upper()}" if field in Settings.model_fields else field
