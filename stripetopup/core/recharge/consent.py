"""The consent a buyer gives to save their card for later, off-session top-ups.

The consent travels in the Checkout Session's metadata (the text version and the door),
so the paid session that saved the card carries the proof of what was agreed; its time
is the session's creation (the moment the buyer asked). Imports the room's types only.
"""

from __future__ import annotations

from typing import Any

from stripetopup.core.recharge.types import ConsentDoor

# Bump the version whenever the text changes: each saved card records the one it was shown.
CONSENT_VERSION = "2026-12-01"
CONSENT_TEXT = (
    "Save this card and let us charge it automatically to top up my balance when it runs "
    "low, within the limits I set. I can remove the card at any time."
)
_SAVE = "save_card"
_VERSION = "consent_version"
_DOOR = "consent_door"


def metadata(door: ConsentDoor) -> dict[str, str]:
    """The metadata a session saving the card carries (Stripe's metadata values are strings)."""
    return {_SAVE: "true", _VERSION: CONSENT_VERSION, _DOOR: door.value}


def given(session_metadata: dict[str, Any] | None) -> tuple[str, ConsentDoor] | None:
    """The consent a session's metadata records, (version, door), or None without one."""
    found = session_metadata or {}
    if found.get(_SAVE) != "true":
        return None
    version = str(found.get(_VERSION) or "")[:40]
    try:
        door = ConsentDoor(str(found.get(_DOOR)))
    except ValueError:
        return None
    return (version, door) if version else None
