"""The one clock, and parsing of the dates operators type.

:func:`utcnow` is the package's clock: every timestamp it writes (rows' ``created_at``, the
core's default ``clock``) comes from it. :func:`parse_when` reads ISO dates/times (UTC
unless an offset is given) and relative windows such as ``7d``, ``24h``, ``30m``;
:func:`parse_duration` reads the same windows as lengths of time (a retry schedule, a grace
period). A leaf module (stdlib + errors).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from stripetopup.errors import InvalidDate

_RELATIVE = re.compile(r"^([0-9]{1,6})([smhdw])$")  # ASCII digits only, as typed
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC: the one clock (models, store and core use it)."""
    return datetime.now(UTC)


def parse_when(text: str, *, now: datetime | None = None, param: str = "--since") -> datetime:
    """Parse ``text`` into an aware UTC datetime that is not in the future.

    ``7d`` means seven days before ``now``; ``2026-11-01`` is midnight UTC that day;
    ``2026-11-01T12:00:00+02:00`` keeps its offset.
    """
    now = now or utcnow()
    raw = text.strip()
    match = _RELATIVE.match(raw.lower())
    if match:
        amount, unit = int(match.group(1)), _UNITS[match.group(2)]
        try:
            return now - timedelta(**{unit: amount})
        except OverflowError:  # 999999w reaches before year 1
            raise _out_of_range(raw, param) from None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidDate(
            f"{param}: {raw!r} is not a date; use ISO 8601 (2026-11-01, 2026-11-01T12:00Z) "
            "or a relative window (7d, 24h)",
            param=param,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise _out_of_range(raw, param) from None
    if parsed > now + timedelta(seconds=1):
        raise InvalidDate(f"{param}: {raw!r} is in the future", param=param)
    return parsed


def parse_duration(text: str, *, param: str, maximum: timedelta | None = None) -> timedelta:
    """``5s``, ``30m``, ``24h``, ``5d``, ``2w`` as a timedelta (``0s`` allowed); InvalidDate
    naming ``param`` for anything else or for more than ``maximum``."""
    raw = text.strip()
    match = _RELATIVE.match(raw.lower())
    if match is None:
        raise InvalidDate(
            f"{param}: {raw[:40]!r} is not a length of time; use a number and a unit "
            "(s, m, h, d or w), like 30s, 5m, 24h or 5d",
            param=param,
        )
    length = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if maximum is not None and length > maximum:
        raise InvalidDate(f"{param}: {raw!r} is longer than {maximum}", param=param)
    return length


def parse_future(text: str, *, now: datetime, param: str) -> datetime:
    """A moment after ``now``: ``30d`` from ``now``, or an ISO date/time (UTC unless an
    offset is given) that is still ahead. InvalidDate otherwise."""
    raw = text.strip()
    if _RELATIVE.match(raw.lower()):
        try:
            moment = now + parse_duration(raw, param=param)
        except OverflowError:
            raise _out_of_range(raw, param) from None
        if moment <= now:
            raise InvalidDate(f"{param}: {raw!r} is not in the future", param=param)
        return moment
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidDate(
            f"{param}: {raw!r} is not a date; use ISO 8601 (2027-01-31, 2027-01-31T12:00Z) "
            "or a span from now (30d, 12h)",
            param=param,
        ) from None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise _out_of_range(raw, param) from None
    if parsed <= now:
        raise InvalidDate(f"{param}: {raw!r} is not in the future", param=param)
    return parsed


def _out_of_range(raw: str, param: str) -> InvalidDate:
    return InvalidDate(f"{param}: {raw!r} is outside the years 1 to 9999", param=param)
