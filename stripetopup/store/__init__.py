"""The store: every SQL statement stripetopup runs, grouped by table. Functions take an
open ``Session`` (the caller owns the transaction) and return model rows or plain values.

May import models, errors, db and money; never core, web or cli.
"""
