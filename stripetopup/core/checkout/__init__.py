"""The checkout room: creating a Checkout Session (a top-up link), the hosted top-up page's
signed links, and fulfilling a session when the buyer returns from Checkout (landing).

May import the ledger and spending rooms, the events room (its one exactly-once credit and
the receipts, for fulfilment on landing), stripetopup.core.context and the layers below core.
"""
