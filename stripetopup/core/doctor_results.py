"""What ``doctor`` reports: one :class:`Check` per line and the :class:`DoctorReport`.

A leaf of the core (stdlib only). Messages and fixes are shown to operators as they are, so
the checks that build them never put a secret in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["ok", "warn", "fail"]
OK: Status = "ok"
WARN: Status = "warn"
FAIL: Status = "fail"


@dataclass(frozen=True)
class Check:
    """One diagnosis: what was checked, how it went, and what to do about it."""

    name: str
    status: Status
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "message": self.message, "fix": self.fix}


def ok(name: str, message: str) -> Check:
    return Check(name, OK, message)


def warn(name: str, message: str, fix: str | None = None) -> Check:
    return Check(name, WARN, message, fix)


def fail(name: str, message: str, fix: str | None = None) -> Check:
    return Check(name, FAIL, message, fix)


@dataclass(frozen=True)
class DoctorReport:
    """Every check in the order it ran; ``ok`` is False when any check failed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.status != FAIL for check in self.checks)

    def count(self, status: Status) -> int:
        return sum(1 for check in self.checks if check.status == status)

    def by_name(self, name: str) -> Check:
        """The check called ``name`` (KeyError if it did not run)."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {"checks": [check.to_json() for check in self.checks], "ok": self.ok}
