"""The spending room: debits and holds for the host application, and their types.

May import the ledger room, stripetopup.core.context and the layers below core.
"""
