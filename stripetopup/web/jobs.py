"""The jobs ``serve`` runs in the background: the grant expiry job.

Every ``STRIPETOPUP_GRANT_EXPIRY_INTERVAL_SECONDS`` the app writes off the grants past
their expiry (:meth:`TopUpService.expire_grants`, in a worker thread so the event loop
never waits on the database). Each worker of ``serve --workers N`` and every instance runs
it; that is safe, as an expiry is written exactly once whoever runs it. A failed run is
logged (the error's class and our own message, never a secret) and the next one tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from stripetopup.core import TopUpService
from stripetopup.errors import StripeTopupError

log = logging.getLogger("stripetopup.web.jobs")


def lifespan(service: TopUpService) -> Callable[[FastAPI], Any]:
    """The app's lifespan: the expiry job runs from start-up to shutdown."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        interval = service.settings.grant_expiry_interval_seconds
        task = asyncio.create_task(every(interval, service.expire_grants))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return run


async def every(seconds: float, job: Callable[[], object]) -> None:
    """Run ``job`` in a thread now and then every ``seconds``, until cancelled."""
    while True:
        try:
            result = await anyio.to_thread.run_sync(job)
            log.debug("grant expiry: %s", result)
        except StripeTopupError as exc:
            log.warning("grant expiry failed: %s", exc)
        except Exception as exc:  # keep the job alive; the traceback could carry data
            log.error("grant expiry failed: %s", type(exc).__name__)
        await asyncio.sleep(seconds)
