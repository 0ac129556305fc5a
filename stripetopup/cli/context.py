"""Building the service for a command, and closing it when the command ends.

Settings come from the environment and the env file. Services (and the bare contexts of
the quick reads, :func:`reads`) opened here are closed by :func:`close_all`, which the root
callback registers with Click's ``call_on_close``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stripetopup.config import Settings
    from stripetopup.core import TopUpService
    from stripetopup.core.context import Context

_opened: list[TopUpService | Context] = []


def settings(*, keep_going: bool = False) -> Settings:
    """The settings; ``keep_going`` (doctor) reports bad ones instead of refusing them."""
    from stripetopup.config import load_settings  # here: pydantic is slow to import

    return load_settings(keep_going=keep_going)


def service() -> TopUpService:
    from stripetopup.core import TopUpService  # here: the core imports the database layer

    # The schema check (and a new SQLite file) waits until a command first uses the database.
    opened = TopUpService.from_settings(settings(), check_schema="on_first_use")
    _opened.append(opened)
    return opened


def reads(current: Settings | None = None) -> Context:
    """What a quick read command (``ledger``, ``accounts list``; ``balance`` where its read
    on the driver hands over) reads through: the settings (``current``, else loaded) and an
    engine on sqlalchemy core, the schema checked on first use as for :func:`service`, and
    no service (so neither the ORM nor the Stripe SDK is imported)."""
    from stripetopup.core.context import Context
    from stripetopup.engines import create_db_engine

    current = current or settings()
    opened = Context(current, create_db_engine(current.database_url))
    opened.check_schema("on_first_use")
    _opened.append(opened)
    return opened


def close_all() -> None:
    while _opened:
        _opened.pop().close()
