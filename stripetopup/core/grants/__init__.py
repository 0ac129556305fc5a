"""The grants room: credit grants (paid or promotional, priority, effective and expiry
times) as operators and host applications see them: their terms (terms), granting and
listing (accounts), writing off expired grants exactly once (expiry), and their types.

Draws on grants are written by the one posting point, :func:`stripetopup.store.ledger.post`
(through :mod:`stripetopup.store.grants`); this room never writes a draw itself.
May import the ledger room, stripetopup.core.context and the layers below core.
"""
