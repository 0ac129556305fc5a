"""The outbound room's answers: a page of the pull feed, and the catalogue as one union.

Imports pydantic, ``core.answers`` and the room's catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, TypeAdapter

from stripetopup.core.answers import Answer, Answered
from stripetopup.core.outbound.catalogue import OutboundEventModel

AnyEvent = Annotated[OutboundEventModel, Field(discriminator="type")]
EVENT_ADAPTER: TypeAdapter[OutboundEventModel] = TypeAdapter(AnyEvent)


class EventPageAnswer(Answer):
    data: list[AnyEvent] = Field(description="Events oldest first, as webhooks deliver them.")
    has_more: bool = Field(description="True when more events follow next_after now.")
    next_after: str | None = Field(
        description="Pass as ?after= for the next page (the last event's id, or the cursor "
        "given when the page is empty); None only for an empty feed read from the start."
    )


@dataclass(frozen=True)
class EventPage(Answered):
    answer_model = EventPageAnswer

    data: tuple[OutboundEventModel, ...]
    has_more: bool
    next_after: str | None
