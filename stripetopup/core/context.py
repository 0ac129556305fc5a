"""What every core operation needs: settings, the engine, (lazily) the Stripe gateway, and
the clock that decides every time edge (signature tolerance, hold expiry): ``dates.utcnow``
unless the service was built with another (a host's own clock, a test's controlled one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from stripetopup.config import Settings
from stripetopup.dates import utcnow

if TYPE_CHECKING:
    from stripetopup.stripe_gateway import StripeGateway


@dataclass
class Context:
    settings: Settings
    engine: Engine
    _gateway: StripeGateway | None = field(default=None, repr=False)
    clock: Callable[[], datetime] = utcnow

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
