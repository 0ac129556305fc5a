"""stripetopup: sell prepaid credit through Stripe Checkout, with an exactly-once ledger.

The public Python API is :class:`stripetopup.core.TopUpService` (imported lazily so that
``import stripetopup`` stays cheap for the CLI).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from stripetopup.config import Settings
    from stripetopup.core import TopUpService

__all__ = ["Settings", "TopUpService", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "TopUpService":
        from stripetopup.core import TopUpService

        return TopUpService
    if name == "Settings":
        from stripetopup.config import Settings

        return Settings
    raise AttributeError(name)
