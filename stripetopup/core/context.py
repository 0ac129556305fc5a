"""What every core operation needs: settings, the engine, (lazily) the Stripe gateway, and
the clock that decides every time edge (signature tolerance, hold expiry): ``dates.utcnow``
unless the service was built with another (a host's own clock, a test's controlled one).

The schema check may also wait for first use of the engine, so a command that fails
before it touches the database (a bad amount, a missing key) creates no SQLite file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy.engine import Engine

from stripetopup.config import Settings
from stripetopup.dates import utcnow
from stripetopup.engines import batch_engine_for

if TYPE_CHECKING:
    from stripetopup.stripe_gateway import StripeGateway


@dataclass
class Context:
    settings: Settings
    _engine: Engine
    _gateway: StripeGateway | None = field(default=None, repr=False)
    clock: Callable[[], datetime] = utcnow
    # Run once, on first use of the engine (the schema check, for a lazily checked service).
    _before_first_use: Callable[[Engine], None] | None = field(default=None, repr=False)
    _batch_engine: Engine | None = field(default=None, repr=False)
    _batch_engine_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check_on_first_use(self, check: Callable[[Engine], None]) -> None:
        """Run ``check`` on the engine just before its first use, not now."""
        self._before_first_use = check

    def check_schema(self, when: bool | Literal["on_first_use"]) -> None:
        """Check the database is at this version's schema (a new SQLite file is migrated on
        the spot): now (True), just before the engine's first use, or not at all (False)."""
        from stripetopup import schema  # here: only a context on a database checks it

        if when == "on_first_use":
            self.check_on_first_use(schema.ensure_current)
        elif when:
            schema.ensure_current(self._engine)

    @property
    def engine(self) -> Engine:
        if self._before_first_use is not None:
            self._before_first_use(self._engine)
            self._before_first_use = None
        return self._engine

    @property
    def batch_engine(self) -> Engine:
        """The engine group commit's batches run on (``engines.batch_engine_for``: on
        PostgreSQL a pool without the pre-ping, made on first use; SQLite: :attr:`engine`)."""
        engine = self.engine
        if engine.dialect.name != "postgresql":
            return engine
        with self._batch_engine_lock:  # the writer thread and a replay may ask at once
            if self._batch_engine is None:
                self._batch_engine = batch_engine_for(engine)
            return self._batch_engine

    @property
    def stripe(self) -> StripeGateway:
        """The Stripe gateway, built on first use (ConfigError when no key is configured)."""
        if self._gateway is None:
            from stripetopup.stripe_gateway import StripeGateway  # the SDK: start-up cost

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
        if self._batch_engine is not None:
            self._batch_engine.dispose()
            self._batch_engine = None
        self._engine.dispose()

    @property
    def currency(self) -> str:
        return self.settings.stripe_currency
