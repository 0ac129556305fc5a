"""The recharge room: an account's Stripe Customer (customers), the consent a buyer gives
to save a card (consent), the saved cards themselves: recorded from a paid Checkout
Session, listed, removed, and ended when Stripe detaches them or deletes the customer
(cards), and their types.

May import the ledger and outbound rooms, stripetopup.core.context and the layers below core.
"""
