"""What the outbox adds to a posting: ``store.ledger.post`` alone against
``core.outbound.posting.post`` (the entry's event, and the low-balance check with a
threshold set), one transaction each, interleaved in rounds so machine noise hits both.

Run: .venv/bin/python bench/outbox.py [POSTINGS] [DATABASE_URL]

The default database is a new SQLite file (WAL, synchronous=FULL, as served). Prints the
median milliseconds per posting for each and the difference: the outbox's cost per
ledger entry (a webhook's credit is one posting plus its event log row).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pydantic import SecretStr
from sqlmodel import Session

from stripetopup import schema
from stripetopup.config import Settings
from stripetopup.core.context import Context
from stripetopup.core.outbound import posting as outbound
from stripetopup.db import create_db_engine, run_in_transaction
from stripetopup.models import LedgerKind
from stripetopup.store import accounts, ledger

ACCOUNT = "acct-bench"
ROUND = 20


def one(kind: str, number: int) -> ledger.Posting:
    return ledger.Posting(
        account_id=ACCOUNT,
        amount_cents=100,
        currency="usd",
        kind=LedgerKind.MANUAL_CREDIT,
        source=f"bench:{kind}:{number}",
        actor="bench",
        reason="bench",
    )


def timed(ctx: Context, kind: str, numbers: range) -> list[float]:
    times = []
    for number in numbers:
        posting = one(kind, number)

        def work(session: Session, posting: ledger.Posting = posting) -> None:
            if kind == "outbox":
                outbound.post(session, ctx, posting)
            else:
                ledger.post(session, posting)

        started = time.perf_counter()
        run_in_transaction(ctx.engine, work)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    postings = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    url = sys.argv[2] if len(sys.argv) > 2 else ""
    if not url:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='stripetopup-bench-')) / 'bench.db'}"
    engine = create_db_engine(url)
    schema.upgrade(engine)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        stripe_secret_key=SecretStr("sk_test_benchbenchbench"),
        low_balance_threshold_cents=50,
    )
    ctx = Context(settings, engine)
    run_in_transaction(engine, lambda session: accounts.ensure(session, ACCOUNT))
    results: dict[str, list[float]] = {"ledger only": [], "outbox": []}
    for start in range(0, postings, ROUND):
        block = range(start, min(start + ROUND, postings))
        results["ledger only"] += timed(ctx, "ledger", block)
        results["outbox"] += timed(ctx, "outbox", block)
    medians = {name: statistics.median(times) for name, times in results.items()}
    for name, value in medians.items():
        print(f"{name:12s} {value:7.3f} ms/posting (median of {postings}, {engine.dialect.name})")
    added = medians["outbox"] - medians["ledger only"]
    print(f"outbox adds  {added:7.3f} ms/posting ({added / medians['ledger only']:+.0%})")
    engine.dispose()


if __name__ == "__main__":
    main()
