"""What every core operation needs: settings, the engine and (lazily) the Stripe gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from stripetopup.config import Settings

if TYPE_CHECKING:
    from stripetopup.stripe_gateway import StripeGateway


@dataclass
class Context:
    settings: Settings
    engine: Engine
    _gateway: StripeGateway | None = field(default=None, repr=False)

    @property
    def stripe(self) -> StripeGateway:
        """The Stripe gateway, built on first use (ConfigError when no key is configured)."""
        if self._gateway is None:
            from stripetopup.stripe_gateway import StripeGateway

            settings = self.settings
            self._gateway = StripeGateway(
                settings.require_stripe_key(),
                api_base=settings.stripe_api_base,
                max_network_retries=settings.stripe_max_network_retries,
                timeout_seconds=settings.stripe_timeout_seconds,
            )
        return self._gateway

    def close(self) -> None:
        if self._gateway is not None:
            self._gateway.close()
            self._gateway = None
        self.engine.dispose()

    @property
    def currency(self) -> str:
        return self.settings.stripe_currency
