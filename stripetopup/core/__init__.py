"""The core: the top-up service and the operations behind it.

May import config, errors, models, money, db, schema, store, signature and the Stripe
gateway; never web or cli.
"""

from stripetopup.core.service import TopUpService

__all__ = ["TopUpService"]
