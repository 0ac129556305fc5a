"""Run the emulator: ``EmulatorServer`` (uvicorn in a thread, for tests and the demo) and ``run``.

``EmulatorServer(port=0)`` picks a free port; ``.url`` is its base URL once started.
``EmulatorServer(sock=...)`` serves on a socket the caller already bound and listens on
(``serve --emulator`` claims its ports before it prints anything).
Imports the stdlib, uvicorn and starlette.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from stripetopup.emulator.app import build_app
from stripetopup.emulator.delivery import DeliveryManager
from stripetopup.emulator.state import EmulatorState


class EmulatorServer:
    """The emulator on ``host:port`` in a background thread; a context manager."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state: EmulatorState | None = None,
        startup_timeout: float = 10.0,
        sock: socket.socket | None = None,
    ) -> None:
        self.state = state or EmulatorState()
        self.app = build_app(self.state)
        self.delivery: DeliveryManager = self.app.state.delivery
        config = uvicorn.Config(
            self.app, host=host, port=port, log_level="warning", lifespan="off", ws="none"
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._startup_timeout = startup_timeout
        self.host = host
        self.port = port
        self._sock = sock
        if sock is not None:
            self.host, self.port = sock.getsockname()[:2]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        given = None if self._sock is None else [self._sock]
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": given},
            name="stripe-emulator",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Stripe emulator did not start")
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.delivery.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run(host: str = "127.0.0.1", port: int = 12111, sock: socket.socket | None = None) -> None:
    """Serve the emulator in the foreground until interrupted (on ``sock`` when given)."""
    app = build_app()
    if sock is not None:
        host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"
    print(
        f"Offline Stripe emulator (NOT Stripe; no real money moves) listening on {url}\n"
        f"  Stripe API: {url}/v1   control API: {url}/_emulator   "
        f"checkout pages: {url}/c/pay/<cs_id>",
        flush=True,
    )
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="off", ws="none"
    )
    try:
        uvicorn.Server(config).run(sockets=None if sock is None else [sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C once it has shut down
        pass
    finally:
        app.state.delivery.close()
