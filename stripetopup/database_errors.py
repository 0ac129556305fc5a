"""The words for a database we could not open, said alike by the engine
(:func:`stripetopup.engines.unreachable`) and by the reads on the driver itself
(``driver_reads``): where we tried (never the user or the password), the driver's reason
in a few words, and what to check.

A leaf: imports ``errors`` and ``redact`` only (no sqlalchemy).
"""

from __future__ import annotations

import os
import re

from stripetopup.errors import DatabaseError
from stripetopup.redact import redact

# psycopg wraps the reason in 'connection failed: connection to server at "h", port p failed:'.
_PG_PREFIX = re.compile(
    r'^(connection failed: )?(connection to server at "[^"]*", port \d+ failed: )?'
)


def unreachable_at(
    backend: str,
    database: str | None,
    host: str | None,
    port: int | None,
    orig: BaseException | None,
) -> DatabaseError:
    """The error for the database ``backend`` (``sqlite`` or ``postgresql``) names, as a
    URL's parts, that the driver could not open with ``orig``."""
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    cause = redact(_PG_PREFIX.sub("", first).replace("FATAL:  ", "").strip())[:200]
    if backend == "sqlite":
        path = database
        where = f"SQLite file {os.path.abspath(path)}" if path and path != ":memory:" else "SQLite"
        check = "check DATABASE_URL (a SQLite file, in a directory that exists and is writable)"
    else:
        where = f"PostgreSQL {host or 'localhost'}:{port or 5432}/{database or ''}"
        check = "check DATABASE_URL and that PostgreSQL is running there and accepts connections"
    reason = cause or type(orig).__name__
    return DatabaseError(f"database unreachable at {where}: {reason}; {check}")
