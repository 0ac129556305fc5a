"""What every JSON answer is built from: the pydantic base, ISO times, and the link to a result.

The core's results are frozen dataclasses (built positionally, compared, replaced); each
names the pydantic model its JSON is (``answer_model``), whose fields are the JSON keys in
the order they are printed. The same model is the CLI's ``--json`` and the web door's
``response_model``, so ``/openapi.json`` documents exactly what both print.
A leaf of the core: imports pydantic only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

# ``datetime.isoformat()``: ``+00:00`` and microseconds only when there are some, as the
# answers have always printed (pydantic's own format would write ``Z``).
IsoTime = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def is_none(value: object) -> bool:
    """For ``Field(exclude_if=is_none)``: a key printed only when it has a value."""
    return value is None


class Answer(BaseModel):
    """A JSON answer, read from a result's attributes (properties included)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    @classmethod
    def of(cls, result: Any) -> Self:
        """The answer for ``result``; a model whose JSON nests or flattens overrides it."""
        return cls.model_validate(result)


class Answered:
    """Mixin for a result: ``to_json()`` is its :attr:`answer_model`'s JSON."""

    answer_model: ClassVar[type[Answer]]

    def to_json(self) -> dict[str, Any]:
        return self.answer_model.of(self).model_dump(mode="json")
