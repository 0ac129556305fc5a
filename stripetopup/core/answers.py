"""What every JSON answer is built from: the pydantic base, ISO times, and the link to a result.

The core's results are frozen dataclasses (built positionally, compared, replaced); each
names the pydantic model its JSON is (``answer_model``), whose fields are the JSON keys in
the order they are printed. The same model is the CLI's ``--json`` and the web door's
``response_model``, so ``/openapi.json`` documents exactly what both print.
A leaf of the core: imports pydantic and money only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

from stripetopup.money import format_cents

# ``datetime.isoformat()``: ``+00:00`` and microseconds only when there are some, as the
# answers have always printed (pydantic's own format would write ``Z``).
IsoTime = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Dollars:
    """A result's ``"5.00"`` string: ``balance = Dollars("balance_cents")`` reads the integer
    cents attribute it names (a field or a property); None cents stay None."""

    def __init__(self, cents_attribute: str) -> None:
        self.cents_attribute = cents_attribute

    def __get__(self, result: object, owner: type | None = None) -> str | None:
        cents = getattr(result, self.cents_attribute)
        return format_cents(cents) if cents is not None else None


def is_none(value: object) -> bool:
    """For ``Field(exclude_if=is_none)``: a key printed only when it has a value."""
    return value is None


class Answer(BaseModel):
    """A JSON answer, read from a result's attributes (properties included)."""

    # defer_build: a schema is built when its answer is first made, so a command builds
    # those it prints rather than every answer of the rooms it imports.
    model_config = ConfigDict(from_attributes=True, frozen=True, defer_build=True)

    @classmethod
    def of(cls, result: Any) -> Self:
        """The answer for ``result``; a model whose JSON nests or flattens overrides it."""
        return cls.model_validate(result)


class Answered:
    """Mixin for a result: ``to_json()`` is its :attr:`answer_model`'s JSON."""

    answer_model: ClassVar[type[Answer]]

    def to_json(self) -> dict[str, Any]:
        return self.answer_model.of(self).model_dump(mode="json")
