"""The catalogue's JSON Schemas: one file per event type, as committed in ``docs/events/``.

``stripetopup outbox schemas DIR`` writes them; a test checks the committed files equal
what the models produce, so the documentation cannot drift from the code.

Imports the room's catalogue only.
"""

from __future__ import annotations

import json

from stripetopup.core.outbound.catalogue import MODELS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schemas() -> dict[str, str]:
    """``{"balance.credited.json": "<schema text>", ...}`` for every event type."""
    files = {}
    for type_, model in MODELS.items():
        schema = {
            "$schema": SCHEMA_DIALECT,
            "$id": f"stripetopup:events/{type_.value}/v1",
            **model.model_json_schema(mode="serialization"),
        }
        files[f"{type_.value}.json"] = json.dumps(schema, indent=2, sort_keys=False) + "\n"
    return files
