"""Building the service for a command, from the environment and the env file."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stripetopup.config import Settings
    from stripetopup.core import TopUpService


def settings() -> Settings:
    from stripetopup.config import load_settings

    return load_settings()


def service() -> TopUpService:
    from stripetopup.core import TopUpService

    return TopUpService.from_settings(settings())
