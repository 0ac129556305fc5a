"""Run every benchmark in bench/ one after the other (``make bench``); each prints its own
table. Numbers from a busy machine are not comparable: run it alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    ["startup.py", "20"],
    ["webhook.py", "--seconds", "5", "--rounds", "1"],
    ["fast_credit.py"],
    ["round_trips.py"],
    ["outbox.py", "2000"],
    ["reconcile.py", "--counts", "1000", "10000", "20000"],
    ["emulator_seed_and_page.py"],
    ["hooks_delivery.py", "1000", "--endpoints", "1", "2"],
    ["grant_debits.py"],
]


def main() -> None:
    for script, *args in BENCHMARKS:
        print(f"\n== {script} {' '.join(args)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *args], check=True)


if __name__ == "__main__":
    main()
