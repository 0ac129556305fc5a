"""A credit's grant terms, checked: category, priority (0-100), effective and expiry times.

Every door (CLI ``credit``, the spend API's grants, the Python API) builds its
:class:`stripetopup.store.grants.GrantRule` here, so the bounds are one rule. May import
core.context, store, models, dates and errors.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from stripetopup.core.context import Context
from stripetopup.dates import parse_future
from stripetopup.errors import InvalidDate, UsageError
from stripetopup.models import GrantCategory
from stripetopup.store.grants import DEFAULT_PRIORITY, GrantRule

MIN_PRIORITY, MAX_PRIORITY = 0, 100
# Beyond this an expiry or start is a typo (and stays far inside the year 9999).
MAX_SPAN = timedelta(days=100 * 366)


def check_category(category: object) -> GrantCategory:
    try:
        return GrantCategory(str(category))
    except ValueError:
        kinds = ", ".join(c.value for c in GrantCategory)
        raise UsageError(f"category must be one of {kinds}", param="category") from None


def check_priority(priority: object) -> int:
    """A priority from 0 (spent first) to 100."""
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise UsageError("priority must be a whole number from 0 to 100", param="priority")
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise UsageError("priority must be a whole number from 0 to 100", param="priority")
    return priority


def check_moment(value: datetime | None, *, now: datetime, param: str) -> datetime | None:
    """An aware time after ``now`` and within a century of it, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidDate(f"{param} needs a timezone (UTC: +00:00 or Z)", param=param)
    if value <= now:
        raise InvalidDate(f"{param} must be in the future", param=param)
    if value - now > MAX_SPAN:
        raise InvalidDate(f"{param} must be within 100 years", param=param)
    return value


def parse_expiry(text: str | None, *, now: datetime, param: str = "--expires") -> datetime | None:
    """``30d`` from now or an ISO date/time ahead, as operators type it; None: never."""
    if text is None:
        return None
    return check_moment(parse_future(text, now=now, param=param), now=now, param=param)


def rule(
    ctx: Context,
    *,
    category: object = GrantCategory.PAID,
    priority: object = DEFAULT_PRIORITY,
    expires_at: datetime | None = None,
    effective_at: datetime | None = None,
) -> GrantRule:
    """The checked terms of one credit, judged at the core's clock."""
    now = ctx.clock()
    expires = check_moment(expires_at, now=now, param="expires_at")
    starts = check_moment(effective_at, now=now, param="effective_at")
    if expires is not None and starts is not None and expires <= starts:
        raise InvalidDate("expires_at must be after effective_at", param="expires_at")
    return GrantRule(
        category=check_category(category),
        priority=check_priority(priority),
        effective_at=starts,
        expires_at=expires,
    )
