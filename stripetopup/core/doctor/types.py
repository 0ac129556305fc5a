"""What ``doctor`` reports: one :class:`Check` per line and the :class:`DoctorReport`.

A leaf of the core (stdlib and core.answers only). Messages and fixes are shown to operators
as they are, so the checks that build them never put a secret in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stripetopup.core.answers import Answer, Answered

Status = Literal["ok", "warn", "fail"]
OK: Status = "ok"
WARN: Status = "warn"
FAIL: Status = "fail"


class CheckAnswer(Answer):
    name: str
    status: Status
    message: str
    fix: str | None


@dataclass(frozen=True)
class Check(Answered):
    """One diagnosis: what was checked, how it went, and what to do about it."""

    name: str
    status: Status
    message: str
    fix: str | None = None

    answer_model = CheckAnswer


def ok(name: str, message: str) -> Check:
    return Check(name, OK, message)


def warn(name: str, message: str, fix: str | None = None) -> Check:
    return Check(name, WARN, message, fix)


def fail(name: str, message: str, fix: str | None = None) -> Check:
    return Check(name, FAIL, message, fix)


class DoctorReportAnswer(Answer):
    checks: list[CheckAnswer]
    ok: bool


@dataclass(frozen=True)
class DoctorReport(Answered):
    """Every check in the order it ran; ``ok`` is False when any check failed."""

    checks: tuple[Check, ...]

    answer_model = DoctorReportAnswer

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
