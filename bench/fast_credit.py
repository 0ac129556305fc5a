"""Per-event cost of the webhook's credit in-process: the general (ORM) path vs the fast
credit's pre-built statements, on SQLite and PostgreSQL, in alternating rounds of one run.

Run: .venv/bin/python bench/fast_credit.py [--events 200] [--rounds 5]
     [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-postgres]

Each round delivers ``--events`` new paid ``checkout.session.completed`` events (each a new
session for one of 20 accounts) through each way, then the same events again (duplicates):

- ``general``: a batch of one per event through the event's handler, the ORM
  (``apply_batch(..., fast=False)``: parse, gather, one transaction and commit per event);
- ``fast``: ``batch.apply_batch`` of one event at a time (its savepoint, the pre-built
  statements of ``fast_credit``, a commit per event);
- ``fast, batched``: every event of the round in one ``apply_batch`` (what the
  group-commit writer does): the statements' cost without a commit per event.

Printed: the median over rounds of milliseconds per event, wall clock and this process's
CPU (the server's share of the work; PostgreSQL's own CPU is not in it), and each ratio to
``general`` (higher: faster).
SQLite runs on a new file in a temporary directory (WAL, synchronous=FULL, as serve);
PostgreSQL on a database of its own created (and dropped) on the server of
``--postgres-url``. Nothing here checks speed: it reports it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from stripetopup import schema
from stripetopup.core import TopUpService
from stripetopup.core.events import batch as batches
from stripetopup.core.events import process
from stripetopup.db import create_db_engine

ACCOUNTS = [f"acct-bench-{n}" for n in range(20)]


def events(count: int) -> list[dict[str, Any]]:
    """``count`` new paid sessions' completed events, as Stripe sends them."""
    now = int(time.time())
    made = []
    for n in range(count):
        account = ACCOUNTS[n % len(ACCOUNTS)]
        session = {
            "id": "cs_test_" + secrets.token_hex(12),
            "object": "checkout.session",
            "amount_subtotal": 500 + n,
            "amount_total": 500 + n,
            "client_reference_id": account,
            "created": now,
            "currency": "usd",
            "livemode": False,
            "metadata": {"account_id": account},
            "mode": "payment",
            "payment_intent": "pi_test_" + secrets.token_hex(12),
            "payment_status": "paid",
            "status": "complete",
        }
        made.append(
            {
                "id": "evt_test_" + secrets.token_hex(12),
                "object": "event",
                "api_version": "2024-06-20",
                "created": now,
                "data": {"object": session},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": "checkout.session.completed",
            }
        )
    return made


def general(service: TopUpService, batch: list[dict[str, Any]]) -> None:
    for evt in batch:
        # process.apply's batch of one, without the fast credit it would try first
        _applied(batches.apply_batch(service.ctx, [_prepared(service, evt)], fast=False))


def fast(service: TopUpService, batch: list[dict[str, Any]]) -> None:
    for evt in batch:
        _applied(batches.apply_batch(service.ctx, [_prepared(service, evt)]))


def fast_batched(service: TopUpService, batch: list[dict[str, Any]]) -> None:
    _applied(batches.apply_batch(service.ctx, [_prepared(service, evt) for evt in batch]))


def _prepared(service: TopUpService, evt: dict[str, Any]) -> batches.Prepared:
    process.check_shape(evt)
    payload = json.dumps(evt)
    return batches.prepare(service.ctx, evt, actor="webhook", payload=payload, secret_label="bench")


def _applied(results: list[batches.ItemResult]) -> None:
    assert all(r.outcome is not None for r in results), "every bench event applies"


WAYS: dict[str, Callable[[TopUpService, list[dict[str, Any]]], None]] = {
    "general": general,
    "fast": fast,
    "fast, batched": fast_batched,
}


def measure(service: TopUpService, count: int, rounds: int) -> dict[str, list[float]]:
    """ms per event for every way, new events and duplicates, alternating in each round."""
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, way in WAYS.items():
            batch = events(count)
            for kind in ("new", "duplicate"):
                t0, c0 = time.perf_counter(), time.process_time()
                way(service, batch)
                elapsed = (time.perf_counter() - t0) * 1000 / count
                cpu = (time.process_time() - c0) * 1000 / count
                times.setdefault(f"{kind}: {name}", []).append(elapsed)
                times.setdefault(f"{kind}: {name} cpu", []).append(cpu)
    assert service.verify_ledger().ok
    return times


def report(label: str, times: dict[str, list[float]]) -> None:
    print(f"\n{label}")
    print(f"{'':<26}{'ms/event':>10}{'vs general':>12}{'cpu ms':>10}{'vs general':>12}")
    for kind in ("new", "duplicate"):
        base = statistics.median(times[f"{kind}: general"])
        base_cpu = statistics.median(times[f"{kind}: general cpu"])
        for name in WAYS:
            wall = statistics.median(times[f"{kind}: {name}"])
            cpu = statistics.median(times[f"{kind}: {name} cpu"])
            print(
                f"{kind + ': ' + name:<26}{wall:>10.3f}{base / wall:>11.2f}x"
                f"{cpu:>10.3f}{base_cpu / cpu:>11.2f}x",
                flush=True,
            )


def bench(url: str, count: int, rounds: int, label: str) -> None:
    engine = create_db_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    service = TopUpService.from_settings(database_url=url)
    for account in ACCOUNTS:
        service.open_account(account)
    general(service, events(5))  # imports, statement caches
    fast(service, events(5))
    try:
        report(label, measure(service, count, rounds))
    finally:
        service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'fast-credit.db'}"
        bench(url, args.events, args.rounds, "SQLite (WAL, synchronous=FULL)")
    if args.no_postgres:
        return
    with scratch_database(args.postgres_url, "fast_credit") as url:
        bench(url, args.events, args.rounds, "PostgreSQL")


@contextmanager
def scratch_database(admin_url: str, purpose: str) -> Iterator[str]:
    """The URL of a database of this run's own on the PostgreSQL server of ``admin_url``,
    created empty and dropped after."""
    name = f"stripetopup_bench_{purpose}_{os.getpid()}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
