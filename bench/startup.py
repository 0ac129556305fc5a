"""Startup: `stripetopup --help` against `python -c "import typer"`.

Target: within 1.5x. Runs both commands alternately, N times each, and compares medians.

    .venv/bin/python bench/startup.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    baseline_cmd = [sys.executable, "-c", "import typer"]
    ours_cmd = [str(BIN / "stripetopup"), "--help"]
    timed(baseline_cmd), timed(ours_cmd)  # warm the page cache
    baseline, ours = [], []
    for _ in range(runs):
        baseline.append(timed(baseline_cmd))
        ours.append(timed(ours_cmd))
    b, o = statistics.median(baseline), statistics.median(ours)
    print(f"python -c 'import typer': median {b * 1000:.0f} ms over {runs} runs")
    print(f"stripetopup --help:       median {o * 1000:.0f} ms over {runs} runs")
    print(f"ratio: {o / b:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
