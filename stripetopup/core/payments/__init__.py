"""The payments room: the payment rows operators look at, and resolving a stray
payment (assign it to an account, or dismiss it).

May import the events room (its one credit path), the ledger room,
stripetopup.core.context and the layers below core.
"""
