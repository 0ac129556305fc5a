"""The checkout room: creating a Checkout Session (a top-up link) and telling a
returning customer what happened to it.

May import the ledger and spending rooms, stripetopup.core.context and the layers below core.
"""
