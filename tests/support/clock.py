"""A clock the test moves by hand, for ``TopUpService(clock=...)``.

Time edges (signature tolerance, hold expiry) are then tested to the second, and a slow,
loaded machine cannot move a case across an edge: the clock stands still until told.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Stands at ``start`` (default: the current whole second) until :meth:`advance`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def timestamp(self) -> int:
        return int(self.now.timestamp())
