"""The reconcile room: Stripe's Checkout Sessions, and the auto-recharge PaymentIntents, of a
window compared with the ledger, and fixed through the events room's credit path (the
recharge room's for a recharge charge).

May import the events, ledger and recharge rooms, stripetopup.core.context and the layers
below core.
"""
