"""When a failed delivery is tried again, and when it is given up.

The schedule is the list of waits after each failed attempt
(``STRIPETOPUP_HOOKS_RETRY_SCHEDULE``; by default 5s, 5m, 30m, 2h, 5h, 10h, 10h, 14h, 24h,
24h: eleven attempts spread over 3 days and 18 hours). After the attempt that has no wait
left the delivery is dead. Imports stdlib only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def next_attempt_at(
    attempts_made: int, schedule: Sequence[int], failed_at: datetime
) -> datetime | None:
    """When to try again after ``attempts_made`` attempts failed, or None: give up (dead)."""
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    return failed_at + timedelta(seconds=schedule[attempts_made - 1])
