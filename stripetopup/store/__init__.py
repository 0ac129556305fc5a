"""The store: every SQL statement stripetopup runs, grouped by table. Functions take an
open ``Session`` (the caller owns the transaction) and return model rows or plain values.

The parts of a balance are read in :mod:`stripetopup.store.balances`, on sqlalchemy core
alone (a session or a plain connection), so a quick read command never loads the ORM.
May import models, errors, db and money; never core, web or cli.
"""
