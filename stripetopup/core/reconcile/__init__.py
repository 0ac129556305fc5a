"""The reconcile room: Stripe's Checkout Sessions for a window compared with the
ledger, and fixed through the events room's credit path.

May import the events and ledger rooms, stripetopup.core.context and the layers below core.
"""
