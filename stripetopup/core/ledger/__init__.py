"""The ledger room: accounts and their balances, posting sources (the exactly-once
keys), reversal postings, ``ledger verify`` and the ledger's types.

May import stripetopup.core.context, stripetopup.core.answers and the layers below core;
no other room.
"""
