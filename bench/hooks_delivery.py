"""Outbound webhook delivery throughput: events per second to a fast receiver.

Run: .venv/bin/python bench/hooks_delivery.py [EVENTS] [--endpoints 1 2 4] [--database-url URL]

For each endpoint count a fresh database gets EVENTS ledger credits (each writes one
``balance.credited`` event into the outbox; not timed), then one delivery worker's passes
(``run_once`` with the worker's thread pool, as inside ``serve``) run until every event has
reached every endpoint. The receiver (bench/hook_receiver.py) is uvicorn in a process of its
own that answers 204 at once. Reported: deliveries per second and the receiver's count
(every webhook-id once per endpoint). The default database is a new SQLite file each time.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
ACCOUNT = "acct-bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_receiver(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "hook_receiver:app",
         "--port", str(port), "--log-level", "warning"],
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/count", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("receiver did not start")


def run(events: int, endpoints: int, database_url: str, receiver: str) -> dict[str, Any]:
    from stripetopup.config import Settings
    from stripetopup.core import TopUpService
    from stripetopup.core.outbound import delivery, worker

    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    service = TopUpService.from_settings(settings)
    service.open_account(ACCOUNT)
    for index in range(endpoints):
        service.add_hook(f"{receiver}/e{index}")
    for index in range(events):
        service.credit(ACCOUNT, 100, reason="bench", idempotency_key=f"bench-{index}")
    total = worker.DeliveryRun()
    t0 = time.perf_counter()
    with (
        delivery.client(settings.hooks_timeout_seconds) as http,
        ThreadPoolExecutor(settings.hooks_concurrency) as pool,
    ):
        while total.delivered < events * endpoints:
            total.add(worker.run_once(service.ctx, http, owner="bench", pool=pool))
    elapsed = time.perf_counter() - t0
    service.close()
    return {"deliveries": total.delivered, "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("events", type=int, nargs="?", default=1000)
    parser.add_argument("--endpoints", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    port = free_port()
    receiver = start_receiver(port)
    try:
        print(f"{'endpoints':>9} {'deliveries':>10} {'seconds':>8} {'per second':>10}")
        for endpoints in args.endpoints:
            with tempfile.TemporaryDirectory() as tmp:
                url = args.database_url or f"sqlite:///{tmp}/bench.db"
                if args.database_url:
                    _reset(url)
                result = run(args.events, endpoints, url, f"http://127.0.0.1:{port}")
            rate = result["deliveries"] / result["seconds"]
            print(
                f"{endpoints:>9} {result['deliveries']:>10} {result['seconds']:>8.2f} {rate:>10.0f}"
            )
        count = json.loads(httpx.get(f"http://127.0.0.1:{port}/count").text)
        print(f"receiver: {count['posts']} posts, {count['ids']} distinct (webhook-id, endpoint)")
    finally:
        receiver.terminate()
        receiver.wait(10)


def _reset(url: str) -> None:
    """Empty a PostgreSQL database given on the command line (bench data only!)."""
    import sqlalchemy as sa

    from stripetopup import schema
    from stripetopup.db import create_db_engine

    engine = create_db_engine(url)
    schema.upgrade(engine)
    names = [t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    engine.dispose()


if __name__ == "__main__":
    main()
