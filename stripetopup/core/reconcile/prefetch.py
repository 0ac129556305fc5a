"""Read an iterator one step ahead in a background thread (bounded: flat memory).

``reconcile`` uses it so the next page of Stripe sessions downloads while the database
work for the current page runs. Stdlib only.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.1


def prefetch(
    source: Iterator[T], *, depth: int = 1, on_exit: Callable[[], None] | None = None
) -> Iterator[T]:
    """Yield ``source``'s items, producing up to ``depth`` ahead in another thread.

    An exception in the producer is re-raised here. ``on_exit`` runs in the producer's
    thread when it stops (e.g. to close that thread's HTTP session).
    """
    slots: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: object) -> bool:
        while not stop.is_set():
            try:
                slots.put((kind, value), timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put("item", item):
                    return
            put("done", None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put("error", exc)
        finally:
            if on_exit is not None:
                on_exit()

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "done":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
