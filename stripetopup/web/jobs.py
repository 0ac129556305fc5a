"""What ``serve`` runs in the background while the app is up: expiry, and outbound delivery.

- Expiry (and the auto-recharge worker's pass over pending attempts and the Checkout
  links of requires_action ones), every
  ``STRIPETOPUP_GRANT_EXPIRY_INTERVAL_SECONDS``: grants past their expiry are
  written off (:meth:`TopUpService.expire_grants`) and holds past theirs are closed, each
  telling the host with ``hold.expired`` (:meth:`TopUpService.expire_holds`), so an idle
  account's expiries are not left until its next request. In a worker thread, so the event
  loop never waits on the database. Each worker of ``serve --workers N`` and every
  instance runs it; that is safe, as each expiry is written exactly once whoever runs it.
  A failed run is logged (the error's class and our own message, never a secret) and the
  next one tries again.
- The outbound webhook worker (core.outbound.worker), one per process unless
  ``STRIPETOPUP_HOOKS_WORKER`` is off, stopped on shutdown within an attempt's timeout.
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
    """The app's lifespan: the expiry job and the delivery worker, start-up to shutdown."""

    @asynccontextmanager
    async def run(_app: FastAPI) -> AsyncIterator[None]:
        worker = service.hooks_worker() if service.settings.hooks_worker else None
        if worker is not None:
            worker.start()
        interval = service.settings.grant_expiry_interval_seconds
        task = asyncio.create_task(every(interval, lambda: _expire(service)))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if worker is not None:
                # An attempt under way ends within its timeout; a lease covers the rest.
                timeout = service.settings.hooks_timeout_seconds + 5
                await asyncio.to_thread(worker.stop, timeout)

    return run


def _expire(service: TopUpService) -> str:
    grants = service.expire_grants()
    holds = service.expire_holds()
    # The auto-recharge worker's pass rides the same beat: a pending attempt is charged
    # within one interval of the debit that armed it (a link Stripe could not make is
    # asked for again on the next beat).
    recharged = service.run_auto_recharge()
    return (
        f"{grants}; {holds} hold(s) closed; {len(recharged.results)} recharge(s) tried, "
        f"{len(recharged.links)} checkout link(s)"
    )


async def every(seconds: float, job: Callable[[], object]) -> None:
    """Run ``job`` in a thread now and then every ``seconds``, until cancelled."""
    while True:
        try:
            result = await anyio.to_thread.run_sync(job)
            log.debug("expiry: %s", result)
        except StripeTopupError as exc:
            log.warning("expiry failed: %s", exc)
        except Exception as exc:  # keep the job alive; the traceback could carry data
            log.error("expiry failed: %s", type(exc).__name__)
        await asyncio.sleep(seconds)
