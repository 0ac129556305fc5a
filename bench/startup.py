"""Startup: `stripetopup balance ACCOUNT` and `--help` against `python -c "import typer"`.

Targets (issue 16): balance within 7x of `import typer`, --help at or below 1.84x (CPU
time, user + sys, of each whole process: steadier than wall time on a shared machine).
The other light read commands (on sqlalchemy core, without the ORM: `ledger ACCOUNT`,
`accounts list`, and balance's --json) are reported beside them, with no target of their
own. The commands run in alternating rounds (typer, help, balance, ..., typer, ...), N
rounds after one warm-up round; each ratio is the median of the per-round ratios, so a
drift of the machine's speed during the run cancels out.

The balance is read from a fresh SQLite file with one account holding paid and promotional
credit (or from DATABASE_URL given with --database-url, e.g. PostgreSQL; the account is
opened there if missing). Run from the repository:

    .venv/bin/python bench/startup.py [N | --runs N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent
ACCOUNT = "acct-bench"
TARGETS = {"balance": 7.0, "--help": 1.84}
# The other light reads, as run (after `stripetopup`); reported without a target.
LIGHT_READS = {
    "balance --json": ["balance", ACCOUNT, "--json"],
    "ledger": ["ledger", ACCOUNT],
    "accounts list": ["accounts", "list"],
}


def cpu_seconds(command: list[str], env: dict[str, str]) -> float:
    """User + sys seconds of one run of ``command`` (and anything it waited for)."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed (exit {os.waitstatus_to_exitcode(status)})")
    return usage.ru_utime + usage.ru_stime


def prepared_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE", "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, STRIPETOPUP_ENV_FILE=os.devnull)
    ours = str(BIN / "stripetopup")
    for args in (
        ["accounts", "create", ACCOUNT],
        ["credit", ACCOUNT, "--amount", "10", "--reason", "bench", "--idempotency-key", "b1"],
        ["credit", ACCOUNT, "--amount", "2", "--reason", "bench", "--promotional", "--expires",
         "30d", "--idempotency-key", "b2"],
    ):  # fmt: skip
        subprocess.run([ours, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs_given", nargs="?", type=int, help="the same as --runs")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    options.runs = options.runs_given or options.runs  # run_all.py passes N positionally
    with tempfile.TemporaryDirectory() as scratch:
        url = options.database_url or f"sqlite:///{Path(scratch) / 'bench.db'}"
        env = prepared_env(url)
        commands = {
            "import typer": [sys.executable, "-c", "import typer"],
            "--help": [str(BIN / "stripetopup"), "--help"],
            "balance": [str(BIN / "stripetopup"), "balance", ACCOUNT],
        }
        commands.update({name: [str(BIN / "stripetopup"), *a] for name, a in LIGHT_READS.items()})
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(options.runs + 1):
            for name, command in commands.items():
                seconds = cpu_seconds(command, env)
                if round_:  # the first round warms the page cache
                    times[name].append(seconds)
    base = times["import typer"]
    database = url.split(":")[0]
    print(f"CPU seconds (user + sys), medians of {options.runs} alternating rounds; {database}")
    baseline = 'python -c "import typer"'
    print(f"  {baseline:28} {statistics.median(base) * 1000:7.1f} ms")
    for name, target in TARGETS.items():
        ratio = statistics.median(o / b for o, b in zip(times[name], base, strict=True))
        label = f"stripetopup {name}" + (f" {ACCOUNT}" if name == "balance" else "")
        print(
            f"  {label:28} {statistics.median(times[name]) * 1000:7.1f} ms"
            f"   {ratio:5.2f}x (target <= {target}x)"
        )
    for name, args in LIGHT_READS.items():
        ratio = statistics.median(o / b for o, b in zip(times[name], base, strict=True))
        label = "stripetopup " + " ".join(args)
        print(f"  {label:28} {statistics.median(times[name]) * 1000:7.1f} ms   {ratio:5.2f}x")


if __name__ == "__main__":
    main()
