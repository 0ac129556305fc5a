"""A savepoint on the driver connection: one per event of a webhook batch, for the price of
two statements.

``Connection.begin_nested()`` costs SQLAlchemy's transaction objects and an execution
context for each of its SAVEPOINT and RELEASE: about as much Python per event as every
statement of the pre-built credit together (bench/fast_credit.py). A batch takes one per
event, so :class:`Savepoint` sends the same SQL straight to the driver, inside the
transaction SQLAlchemy began. SQLAlchemy keeps no state about it: a Session working inside
one must make its own savepoint (``join_transaction_mode="create_savepoint"``), never
roll back the connection's transaction, which is the whole batch's.
Imports sqlalchemy and the store's credit statements (for the driver's error, translated).
"""

from __future__ import annotations

import sqlalchemy as sa

from stripetopup.store.credit_statements import translated

NAME = "stripetopup_item"  # one at a time: each is released or rolled back before the next


class Savepoint:
    """:meth:`begin`, then exactly one of :meth:`release` and :meth:`rollback`.

    Begun inside ``credit_statements.pipelined`` on PostgreSQL, the ``SAVEPOINT`` is sent
    with the statements after it, in their round trip, and :meth:`send_release` with the
    last ones.
    """

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.open = False

    def begin(self) -> None:
        self._execute(f"SAVEPOINT {NAME}")
        self.open = True

    def release(self) -> None:
        """Keep what was done since the savepoint (in the enclosing transaction)."""
        self.send_release()
        self.released()

    def send_release(self) -> None:
        """Send the ``RELEASE``; inside a pipeline it runs (or fails) when the pipeline
        ends, so call :meth:`released` only once the pipeline ended without an error: until
        then a failure still leaves the savepoint to :meth:`rollback`. (A ``RELEASE`` queued
        after a statement that failed is never run: the savepoint is still there.)"""
        self._execute(f"RELEASE SAVEPOINT {NAME}")

    def released(self) -> None:
        """The ``RELEASE`` :meth:`send_release` sent has run."""
        self.open = False

    def rollback(self) -> None:
        """Undo what was done since the savepoint, and end it (nothing if already ended)."""
        if not self.open:
            return
        self.open = False
        self._execute(f"ROLLBACK TO SAVEPOINT {NAME}")
        self._execute(f"RELEASE SAVEPOINT {NAME}")

    def _execute(self, sql: str) -> None:
        raw = self.connection.connection.driver_connection
        assert raw is not None
        try:
            raw.execute(sql)
        except self.connection.dialect.loaded_dbapi.Error as exc:
            raise translated(self.connection, exc, sql) from None
