"""The compiled text of store.balances' statements, as store.balance_sql must hold it.

``tests/test_driver_reads.py`` compares these with the constants; when a statement
changes, print the constants anew and paste them into ``stripetopup/store/balance_sql.py``
(then ``ruff format`` it):

    .venv/bin/python -m tests.support.balance_sql
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stripetopup.store import balances
from stripetopup.store.balance_sql import Compiled
from stripetopup.store.credit_statements import DIALECTS, Prepared

# Each constant's statement, by the name the driver reads run it under.
STATEMENTS: dict[str, Callable[[], Any]] = {
    "account": balances._account_statement,
    "live": balances._live_statement,
    "deficit": balances._deficit_statement,
    "held": balances._held_statement,
    "drawable_total": balances._total_statement,
    "listing": balances._listing_statement,
}


def prepared(dialect: str, key: str) -> Prepared:
    """The statement compiled as the fast credit compiles its own (named parameters)."""
    return Prepared(STATEMENTS[key](), DIALECTS[dialect])


def compiled(dialect: str) -> dict[str, Compiled]:
    """What ``balance_sql`` must say for ``dialect``."""
    found = {}
    for key in STATEMENTS:
        statement = prepared(dialect, key)
        found[key] = Compiled(statement.sql, statement.defaults, tuple(statement.processors))
    return found


def _pieces(sql: str, width: int = 80) -> list[str]:
    """``sql`` as literals of at most ``width`` or so characters, split after a space."""
    pieces = []
    for line in sql.splitlines(keepends=True):
        current = ""
        for word in re.findall(r"\s*\S+\s*", line) or [line]:
            if current and len(current) + len(word.rstrip()) > width:
                pieces.append(current)
                current = ""
            current += word
        pieces.append(current)
    assert "".join(pieces) == sql
    return pieces


if __name__ == "__main__":
    for dialect, constant in (("sqlite", "SQLITE"), ("postgresql", "POSTGRESQL")):
        print(f"{constant}: dict[str, Compiled] = {{")
        for key, value in compiled(dialect).items():
            text = "".join(f"\n            {piece!r}" for piece in _pieces(value.sql))
            timestamps = f" {value.timestamps!r}," if value.timestamps else ""
            defaults = dict(value.defaults)
            print(f'    "{key}": Compiled(({text}\n        ), {defaults!r},{timestamps}),')
        print("}")
