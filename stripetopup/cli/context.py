"""Building the service for a command, and closing it when the command ends.

Settings come from the environment and the env file. Services opened here are closed by
:func:`close_all`, which the root callback registers with Click's ``call_on_close``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stripetopup.config import Settings
    from stripetopup.core import TopUpService

_opened: list[TopUpService] = []


def settings() -> Settings:
    from stripetopup.config import load_settings

    return load_settings()


def service() -> TopUpService:
    from stripetopup.core import TopUpService

    opened = TopUpService.from_settings(settings())
    _opened.append(opened)
    return opened


def close_all() -> None:
    while _opened:
        _opened.pop().close()
