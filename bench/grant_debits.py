"""What the grant burn-down adds to a debit: debits/s with 1, 10 and 1,000 live grants.

Run: .venv/bin/python bench/grant_debits.py [--grants 1 10 1000] [--debits 300]
     [--database-url URL]

For each count a fresh account (on a new SQLite file unless ``--database-url`` is given)
gets that many live grants of random priority and expiry, then ``--debits`` spends of one
cent each run one after the other through ``TopUpService.spend`` (the spend API's path: the
available check reads the drawable grants, the posting draws in burn-down order). Each
debit here draws from one grant, so the numbers show the cost of reading and ordering the
account's live grants, which grows with their number.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stripetopup.core import TopUpService


def run(database_url: str, grants: int, debits: int, tag: str) -> float:
    service = TopUpService.from_settings(database_url=database_url)
    account = f"acct-bench-{tag}-{grants}"
    service.open_account(account)
    rng = random.Random(14)
    now = datetime.now(UTC)
    for n in range(grants):
        expires = None if n % 3 == 0 else now + timedelta(days=rng.randint(1, 365))
        service.grant(
            account,
            10_000,
            idempotency_key=f"{account}-g{n}",
            category="promotional",
            priority=rng.randint(0, 100),
            expires_at=expires,
        )
    t0 = time.perf_counter()
    for n in range(debits):
        service.spend(account, 1, idempotency_key=f"{account}-d{n}")
    elapsed = time.perf_counter() - t0
    assert service.verify_ledger().ok
    service.close()
    return debits / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grants", type=int, nargs="+", default=[1, 10, 1000])
    parser.add_argument("--debits", type=int, default=300)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tag = f"{int(time.time())}"
    print(f"{'live grants':>12} {'debits/s':>10} {'vs 1 grant':>11}")
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.grants:
            url = args.database_url or f"sqlite:///{Path(tmp) / f'grants-{count}.db'}"
            rate = run(url, count, args.debits, tag)
            base = base or rate
            print(f"{count:>12} {rate:>10.0f} {rate / base:>10.2f}x", flush=True)


if __name__ == "__main__":
    main()
