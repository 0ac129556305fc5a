"""The doctor room: the health checks by subject (local, Stripe account, webhook
self-test), what the metrics scrape reads, and their types.

May read the events room, the ledger room, stripetopup.core.context and the layers below.
"""
