"""The store: every SQL statement stripetopup runs, grouped by table. Functions take an
open ``Session`` (the caller owns the transaction) and return model rows or plain values.

The parts of a balance (:mod:`stripetopup.store.balances`) and an account's entries
(:mod:`stripetopup.store.entries`) are read on sqlalchemy core alone (a session or a plain
connection), so the quick read commands never load the ORM.
May import models, errors, db and money; never core, web or cli.
"""
