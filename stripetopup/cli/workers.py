"""The processes behind ``serve``: signal handling, the ``--workers N`` supervisor and the
factory each worker calls.

uvicorn's supervisor treats SIGHUP as "restart the workers", so closing the terminal left
it running, respawning workers and holding the port. Here SIGHUP, SIGINT and SIGTERM all
stop it, and every worker with it; a worker that gets SIGHUP itself (the terminal's whole
process group does) shuts down gracefully as on SIGTERM. Imports uvicorn and the web app
(never FastAPI itself: the web door owns it).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
from typing import TYPE_CHECKING

from uvicorn.supervisors import Multiprocess

if TYPE_CHECKING:
    from starlette.types import ASGIApp

# Tells the workers of `serve --emulator --workers N` to mount the demo's pages too.
DEMO_PAGES_VARIABLE = "STRIPETOPUP_SERVE_DEMO_PAGES"
FACTORY = f"{__name__}:worker_app"

logger = logging.getLogger("stripetopup.serve")


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, except that SIGHUP stops it and its workers."""

    def handle_hup(self) -> None:
        logger.info("Received SIGHUP, exiting.")
        self.should_exit.set()


def stop_on_hangup() -> None:
    """SIGHUP shuts this process down gracefully, as SIGTERM does.

    uvicorn's server handles only SIGINT and SIGTERM; SIGHUP's default would kill a worker
    in the middle of a request.
    """
    signal.signal(signal.SIGHUP, lambda _signum, _frame: signal.raise_signal(signal.SIGTERM))


def worker_app() -> ASGIApp:
    """The factory each ``--workers N`` process calls: the app, from the environment."""
    # Here: only a worker serves the app, so only workers import FastAPI and the core.
    from stripetopup.web.app import create_app_from_env

    stop_on_hangup()
    app = create_app_from_env(demo=os.environ.get(DEMO_PAGES_VARIABLE) == "1")
    settle_heap()
    return app


def settle_heap() -> None:
    """Keep what start-up built (modules, the app, its compiled statements) out of the
    garbage collector's passes from here on.

    They live as long as the process, yet every full collection walked them all again: in
    bench/webhook.py's re-delivery phase one pass took about 110 ms, every few seconds (some
    7 µs a request on average, and a 110 ms stall for every request in flight, which is
    what a p99 sees). Frozen, the same pass walks only what requests made: about 17 ms.
    """
    gc.collect()  # what start-up left as garbage is freed, not kept for ever
    gc.freeze()
