"""The auth room's answer: a credential (a user token or a service key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from stripetopup.core.answers import Answer, Answered, IsoTime
from stripetopup.models import (
    ApiCredential,
)


class CredentialAnswer(Answer):
    id: str = Field(description="The credential's public prefix (never its secret).")
    kind: str
    subject: str = Field(description="The account (a user token) or name (a service key).")
    created_at: IsoTime
    last_used_at: IsoTime | None
    revoked_at: IsoTime | None
    active: bool


@dataclass(frozen=True)
class Credential(Answered):
    answer_model = CredentialAnswer

    id: str
    kind: str
    subject: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiCredential) -> Credential:
        return cls(
            id=row.prefix,
            kind=row.kind,
            subject=row.subject,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )

    @property
    def active(self) -> bool:
        return self.revoked_at is None
