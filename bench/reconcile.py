"""Time ``reconcile --fix`` against a bare stripe SDK auto-pagination over the same sessions.

Run: .venv/bin/python bench/reconcile.py [--counts 1000 10000 20000] [--database-url URL]

For each N the emulator (in this process) is reset and seeded with N paid sessions for
one account; a fresh child process then (1) iterates the same list request with the SDK's
``auto_paging_iter`` (same ``created`` filter, limit 100 and ``expand``), and (2) runs
``TopUpService.reconcile(..., fix=True)``, which credits all N, and (3) the same again,
which finds nothing to fix (the steady state of a nightly run). The baseline and reconcile
run in separate child processes, so each peak RSS (ru_maxrss) is its own and per N; the
Python heap's peak (tracemalloc) during a further clean run shows what reconcile itself
holds. RSS grows with N for plain ``requests`` paging too (the allocator keeps freed page
buffers), which is why the heap peak is the number to watch for "flat memory". The default
database is a new SQLite file per N.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ACCOUNT = "acct-bench"
KEY = "sk_test_bench000000000001"


def child_sdk(emulator_url: str, since: int) -> dict[str, Any]:
    """The baseline, in a fresh process: bare SDK auto-pagination over the same request."""

    import stripe

    from stripetopup.core.reconcile.runner import EXPAND

    http = stripe.RequestsClient()
    client = stripe.StripeClient(KEY, base_addresses={"api": emulator_url}, http_client=http)
    params: dict[str, Any] = {
        "limit": 100,
        "created": {"gte": since},
        "expand": [f"data.{path}" for path in EXPAND],
    }
    t0 = time.perf_counter()
    listed = sum(1 for _ in client.v1.checkout.sessions.list(params=params).auto_paging_iter())  # type: ignore[arg-type]
    sdk_s = time.perf_counter() - t0
    http.close()  # type: ignore[no-untyped-call]
    return {"listed": listed, "sdk_s": sdk_s, "sdk_rss_mb": _peak_rss_mb()}


def child_reconcile(emulator_url: str, database_url: str, since: int) -> dict[str, Any]:
    """reconcile --fix, then again (nothing to fix), in a fresh process of its own so
    that its peak memory is its own."""
    from datetime import UTC, datetime

    from pydantic import SecretStr

    from stripetopup.config import Settings
    from stripetopup.core import TopUpService

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        stripe_secret_key=SecretStr(KEY),
        stripe_api_base=emulator_url,
        database_url=database_url,
    )
    service = TopUpService.from_settings(settings)
    service.open_account(ACCOUNT)
    counts = {"items": 0}

    def count(_: object) -> None:
        counts["items"] += 1

    t1 = time.perf_counter()
    report = service.reconcile(datetime.fromtimestamp(since, UTC), fix=True, on_item=count)
    fix_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    again = service.reconcile(datetime.fromtimestamp(since, UTC), fix=True, on_item=count)
    clean_s = time.perf_counter() - t2
    # The Python heap's peak during one more (clean) run: what reconcile itself holds,
    # apart from the allocator's high-water mark that RSS reports.
    tracemalloc.start()
    service.reconcile(datetime.fromtimestamp(since, UTC), fix=True, on_item=count)
    heap_peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    assert again.clean
    assert again.differences == 0
    balance = service.balance(ACCOUNT).balance_cents
    service.close()
    return {
        "sessions": report.sessions,
        "fixed": report.fixed,
        "balance_cents": balance,
        "reconcile_s": fix_s,
        "clean_s": clean_s,
        "max_rss_mb": _peak_rss_mb(),
        "heap_peak_mb": heap_peak_mb,
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def measure(control: Any, url: str, n: int, database_url: str | None, tmp: Path) -> dict[str, Any]:
    control.reset()
    since = control.now() - n - 10
    control.seed(
        count=n, state="paid", client_reference_id=ACCOUNT, created_start=since, created_step=1
    )
    db = database_url or f"sqlite:///{tmp / f'bench_{n}.db'}"
    if database_url is None:
        from stripetopup import schema
        from stripetopup.db import create_db_engine

        engine = create_db_engine(db)
        schema.upgrade(engine)
        engine.dispose()
    result = {**_run_child("sdk", url, str(since)), **_run_child("reconcile", url, db, str(since))}
    result["ratio"] = result["reconcile_s"] / result["sdk_s"]
    result["clean_ratio"] = result["clean_s"] / result["sdk_s"]
    assert result["fixed"] == result["sessions"] == result["listed"] == n, result
    assert result["balance_cents"] == 500 * n, result
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", type=int, nargs="+", default=[1_000, 10_000, 20_000])
    parser.add_argument("--database-url", help="An empty, migrated database (default: SQLite).")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "sdk":
            print(json.dumps(child_sdk(rest[0], int(rest[1]))))
        else:
            print(json.dumps(child_reconcile(rest[0], rest[1], int(rest[2]))))
        return
    from stripetopup.emulator import EmulatorControl, EmulatorServer

    print(
        f"{'N':>7} {'sdk s':>8} {'fix s':>8} {'ratio':>6} {'rerun s':>8} {'ratio':>6} "
        f"{'SDK RSS MB':>11} {'reconcile RSS MB':>17} {'reconcile heap peak MB':>23}"
    )
    with (
        EmulatorServer() as server,
        EmulatorControl(server.url, timeout=300) as control,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for n in args.counts:
            r = measure(control, server.url, n, args.database_url, Path(tmp))
            print(
                f"{n:>7} {r['sdk_s']:>8.2f} {r['reconcile_s']:>8.2f} {r['ratio']:>6.2f} "
                f"{r['clean_s']:>8.2f} {r['clean_ratio']:>6.2f} {r['sdk_rss_mb']:>11.1f} "
                f"{r['max_rss_mb']:>17.1f} {r['heap_peak_mb']:>23.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
