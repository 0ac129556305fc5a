"""An offline, stateful Stripe API emulator for the calls stripetopup makes.

Public names (imported lazily, so ``import stripetopup.emulator`` stays cheap):

- ``build_app(state=None)``: the ASGI app (``/v1``, ``/_emulator``, ``/c/pay``).
- ``EmulatorServer``: the app served by uvicorn in a thread (``.url``, ``.stop()``).
- ``EmulatorControl``: a typed httpx client for the ``/_emulator`` control API.
- ``EmulatorState``: the in-memory store, if you want to share or inspect it.

A leaf part: it imports only the stdlib, starlette, uvicorn and httpx, never other stripetopup
modules and never ``stripe``. See docs/emulator.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stripetopup.emulator.app import build_app
    from stripetopup.emulator.client import EmulatorControl, EmulatorControlError
    from stripetopup.emulator.server import EmulatorServer, run
    from stripetopup.emulator.state import EmulatorState

__all__ = [
    "EmulatorControl",
    "EmulatorControlError",
    "EmulatorServer",
    "EmulatorState",
    "build_app",
    "run",
]

_HOMES = {
    "build_app": "stripetopup.emulator.app",
    "EmulatorControl": "stripetopup.emulator.client",
    "EmulatorControlError": "stripetopup.emulator.client",
    "EmulatorServer": "stripetopup.emulator.server",
    "run": "stripetopup.emulator.server",
    "EmulatorState": "stripetopup.emulator.state",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'stripetopup.emulator' has no attribute {name!r}")
