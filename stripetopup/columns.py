"""Column types, bounds and stored states shared by the SQLModel tables and the core-SQL reads.

:mod:`stripetopup.models` declares the tables with these; :mod:`stripetopup.store.balances`
reads the balance with them on sqlalchemy core alone, so a quick read command (``stripetopup
balance``) never imports sqlmodel. A leaf module: imports sqlalchemy only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa

# INTEGER columns (ids, cents, balances) are 32-bit on PostgreSQL; SQLite's are wider. The
# doors keep what they accept within this, so both databases answer alike.
MAX_INTEGER = 2**31 - 1


class GrantCategory(StrEnum):
    """What kind of credit a grant is (``credit_grants.category``): bought, or given."""

    PAID = "paid"
    PROMOTIONAL = "promotional"


class GrantStatus(StrEnum):
    """A grant's ``status``: ``live`` until its expiry is written off, then ``expired``."""

    LIVE = "live"
    EXPIRED = "expired"


class HoldStatus(StrEnum):
    """A hold's ``status``: open until captured, released or expired."""

    OPEN = "open"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


# Grant, draw and reservation cents are BIGINT on PostgreSQL (wider than any balance).
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware UTC, on SQLite too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
