"""Time ``reconcile --fix`` against a bare stripe SDK auto-pagination over the same sessions.

Run: .venv/bin/python bench/reconcile.py [--counts 1000 10000 20000] [--database-url URL]

For each N the emulator (in this process) is reset and seeded with N paid sessions for
one account; a fresh child process then (1) iterates the same list request with the SDK's
``auto_paging_iter`` (same ``created`` filter, limit 100 and ``expand``), and (2) runs
``TopUpService.reconcile(..., fix=True)``, which credits all N, and (3) the same again,
which finds nothing to fix (the steady state of a nightly run). The child prints both times,
their ratio and its peak RSS (ru_maxrss), so memory is per N, not cumulative. The default
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
from pathlib import Path
from typing import Any

ACCOUNT = "acct-bench"
KEY = "sk_test_bench000000000001"


def child(emulator_url: str, database_url: str, since: int) -> dict[str, Any]:
    """Measure in a fresh process: the SDK baseline, then reconcile --fix."""
    from datetime import UTC, datetime

    import stripe
    from pydantic import SecretStr

    from stripetopup.config import Settings
    from stripetopup.core import TopUpService
    from stripetopup.core.reconcile import EXPAND

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
    assert again.clean
    assert again.differences == 0
    balance = service.balance(ACCOUNT).balance_cents
    service.close()
    return {
        "listed": listed,
        "sessions": report.sessions,
        "fixed": report.fixed,
        "balance_cents": balance,
        "sdk_s": sdk_s,
        "reconcile_s": fix_s,
        "ratio": fix_s / sdk_s,
        "clean_s": clean_s,
        "clean_ratio": clean_s / sdk_s,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


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
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, db, str(since)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    assert result["fixed"] == result["sessions"] == result["listed"] == n, result
    assert result["balance_cents"] == 500 * n, result
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", type=int, nargs="+", default=[1_000, 10_000, 20_000])
    parser.add_argument("--database-url", help="An empty, migrated database (default: SQLite).")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, db, since = args.child
        print(json.dumps(child(url, db, int(since))))
        return
    from stripetopup.emulator import EmulatorControl, EmulatorServer

    print(
        f"{'N':>7} {'sdk s':>8} {'fix s':>8} {'ratio':>6} {'rerun s':>8} {'ratio':>6} "
        f"{'peak RSS MB':>12}"
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
                f"{r['clean_s']:>8.2f} {r['clean_ratio']:>6.2f} {r['max_rss_mb']:>12.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
