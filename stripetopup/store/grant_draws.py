"""Grant draws: what each ledger entry took from which grant, and the deficit.

A row's ``grant_pk`` NULL is the part of a debit no grant covered (positive) or a credit
settling it (negative); the account's deficit is their sum. Rows are only ever added, by
:mod:`stripetopup.store.grants` on the posting path; the deficit is read in
:mod:`stripetopup.store.balances`. Imports sqlalchemy/sqlmodel, ``stripetopup.models`` and
``store.balances``.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from stripetopup.models import GrantDraw
from stripetopup.store import balances

_COLUMNS = ("entry_id", "account_pk", "grant_pk", "amount_cents")


def add(session: Session, entry_id: int, account_pk: int, grant_pk: int | None, cents: int) -> None:
    values = dict(zip(_COLUMNS, (entry_id, account_pk, grant_pk, cents), strict=True))
    session.execute(_insert_statement(), values)


def deficit(session: Session, account_pk: int) -> int:
    """The account's uncovered debits not yet settled by a credit (never negative)."""
    return balances.deficit(session, account_pk)


@functools.cache
def _insert_statement() -> Any:
    table = GrantDraw.__table__  # type: ignore[attr-defined]
    return sa.insert(table).values({name: sa.bindparam(name) for name in _COLUMNS})
