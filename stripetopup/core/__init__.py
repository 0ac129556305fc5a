"""The core: the top-up service and the operations behind it.

May import config, errors, models, money, db, schema, store, signature and the Stripe
gateway; never web or cli.

``TopUpService`` is imported on first use (``from stripetopup.core import TopUpService``
works as ever): importing one room's module, as the quick read commands do, does not load
the service and every room behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stripetopup.core.service import TopUpService

__all__ = ["TopUpService"]


def __getattr__(name: str) -> Any:
    if name == "TopUpService":
        from stripetopup.core.service import TopUpService

        return TopUpService
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
