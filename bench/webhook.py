"""Webhook throughput and latency: stripetopup's /billing/webhook against bare endpoints, with
a real load generator, in alternating rounds (issue 16, "What must be shown").

    .venv/bin/python bench/webhook.py [--seconds 10] [--rounds 3] [--only sqlite|pg]

(About 10 minutes with the defaults, 12 on a busy machine; ``--seconds 5 --rounds 1`` for a
quick look; ``make bench-webhook ARGS=...`` is the same.)

The servers, each one uvicorn process tree pinned to core 1 (``taskset -c 1``; with
``--workers 2`` both workers share that one core, exactly as the bare endpoints get it):

    A  bare: FastAPI, verifies the signature only (bench/bare_webhook_app.py)
    B  bare + one durable SQLite insert per request, WAL, synchronous=FULL, one commit after
       another on one connection (bench/bare_sqlite_app.py): the disk's serial commit rate,
       a reference for group commit to beat, not a target
    C  stripetopup serve, 1 worker, SQLite     D  stripetopup serve --workers 2, SQLite
    E  stripetopup serve, 1 worker, PostgreSQL F  stripetopup serve --workers 2, PostgreSQL

Each PostgreSQL server gets a fresh database (``bench_<random>`` on 127.0.0.1:5432, dropped
at the end, ``db upgrade``d); each stripetopup server an account opened with ``accounts
create``. PostgreSQL itself is not pinned (it is the machine's shared server): its backends'
CPU for our database is reported beside the server's, never inside it.

Every round runs A B C D E F in turn; for each server: start it, a short warm-up, then

1. maximum rate: wrk (``taskset -c 0``, 1 thread, 16 connections) POSTs distinct
   ``checkout.session.completed`` events for the known account, each signed just before the
   phase (bench/wrk/presigned.lua reads them from a file and records each 200's event id);
   requests/s, and the server's CPU ms per request from /proc/<pid>/stat (utime+stime of
   the whole process tree, before and after);
2. latency: an open-loop paced generator (below; Debian has no wrk2 and wrk's own latency is
   closed-loop) at half the rate phase 1 reached, p50/p99 measured from each request's
   scheduled time, so a slow answer cannot hide the queue behind it;
3. duplicates (C and E): the events just applied, re-signed and re-delivered round and round
   by wrk; their requests/s against the bare endpoint's.

After each stripetopup phase the requests wrk or the pacer left unanswered (in flight at the
end, timed out) are delivered again, Stripe-style, until answered 200; then the account's
balance must be exactly the distinct events sent times the amount (no lost credit, no double
credit) and, at the end, ``ledger verify`` clean. Every non-200 answer is counted and shown.

The table shows each server's median over the rounds; "x bare" is the median of each round's
ratio to that round's bare endpoint (alternation cancels slow drift on a shared machine),
and the 2-workers verdict is the median of each round's 2-worker rate over its 1-worker one.
"other%" is how busy the server's core was with anything but the server (other people's
jobs, steal, and PostgreSQL's backends when they ran there): above a few percent, distrust
that row. Needs ``wrk`` (``apt-get install wrk``) and ``taskset`` (util-linux), 2+ cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.servers import free_port
from tests.support.stripe_events import body, checkout_session, event, sign

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
LUA = HERE / "wrk" / "presigned.lua"
SECRET = "whsec_bench_" + secrets.token_hex(16)
ACCOUNT = "acct-bench"
AMOUNT = 500
TICKS = os.sysconf("SC_CLK_TCK")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DUPLICATE_POOL = 5000  # events re-delivered round and round in the duplicates phase

TARGETS = """targets (issue 16): serve >= 0.7x bare on SQLite, >= 0.5x on PostgreSQL; p99 < 50 ms
at half the maximum rate; 2 workers >= 1 worker on SQLite; duplicates >= 0.9x bare"""


@dataclass(frozen=True)
class Spec:
    """One server of the comparison: what runs and on which database."""

    key: str
    name: str
    kind: str  # "bare", "bare_sqlite" or "serve"
    database: str | None = None  # "sqlite" or "pg" for serve
    workers: int = 1

    @property
    def credits(self) -> bool:
        return self.kind == "serve"


SPECS = [
    Spec("A", "bare (verify only)", "bare"),
    Spec("B", "bare + SQLite insert", "bare_sqlite"),
    Spec("C", "serve 1w SQLite", "serve", "sqlite", 1),
    Spec("D", "serve 2w SQLite", "serve", "sqlite", 2),
    Spec("E", "serve 1w PostgreSQL", "serve", "pg", 1),
    Spec("F", "serve 2w PostgreSQL", "serve", "pg", 2),
]
DUPLICATES = {"C", "E"}  # servers whose applied events are re-delivered as duplicates


@dataclass
class Phase:
    """What one load phase measured."""

    seconds: float
    answered: int
    statuses: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)
    acked: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # event ids, in the order sent
    sent_count: int = 0  # wrk: how many of its pool's requests went out (the first ones)
    exhausted: bool = False
    cpu_seconds: float = 0.0
    pg_cpu_seconds: float | None = None
    other_share: float = 0.0  # of the server's core, busy with anything but the server
    latencies: list[float] = field(default_factory=list)  # paced phase only, seconds
    send_lags: list[float] = field(default_factory=list)  # paced: written - due, seconds

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def non_ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != "200")

    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / max(self.answered, 1)


@dataclass
class RoundResult:
    top: Phase
    paced: Phase | None = None
    paced_rate: float = 0.0
    duplicates: Phase | None = None
    retried: int = 0
    check: str = ""


@dataclass
class Server:
    """A spec's settings for this run and what was sent to it across rounds."""

    spec: Spec
    env: dict[str, str]
    database_name: str | None = None
    events: dict[str, bytes] = field(default_factory=dict)  # event id -> body, every one sent
    rate_estimate: float = 0.0
    rounds: list[RoundResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    late_pacer: list[float] = field(default_factory=list)  # p99 send lag of rounds over 5 ms


# ---------------------------------------------------------------- events and requests


def fresh_events(count: int) -> list[tuple[str, bytes]]:
    """``count`` new paid checkout sessions for the account, as (event id, body)."""
    out = []
    for _ in range(count):
        evt = event("checkout.session.completed", checkout_session(ACCOUNT, AMOUNT))
        out.append((evt["id"], body(evt)))
    return out


def write_pool(path: Path, payloads: Iterable[bytes]) -> None:
    """The wrk script's pool: "<signature>\\t<body>" a line, signed now (tolerance 300 s)."""
    with path.open("wb") as out:
        for payload in payloads:
            out.write(sign(payload, SECRET).encode() + b"\t" + payload + b"\n")


# ---------------------------------------------------------------- CPU accounting


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int(stat_fields(int(entry.name))[1])
                children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat from the state on (the command name may contain spaces)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def cpu_of(pids: Iterable[int]) -> dict[int, float]:
    """utime+stime in seconds of each live pid."""
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat_fields(pid)
            out[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def tree_cpu(root: int) -> float:
    return sum(cpu_of(process_tree(root)).values())


def core_busy(cores: set[int]) -> float:
    """Seconds the given cores were busy (everything but idle and iowait) since boot."""
    busy = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cores:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, values[:8])
            busy += user + nice + system + irq + softirq + steal
    return busy / TICKS


class PostgresCpu:
    """CPU of the PostgreSQL backends serving one database (they are not in our tree)."""

    def __init__(self, database: str | None) -> None:
        self.database = database

    def pids(self) -> list[int]:
        if self.database is None:
            return []
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
            ).fetchall()
        return [row[0] for row in rows]

    def snapshot(self) -> dict[int, float]:
        return cpu_of(self.pids())

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


class Meter:
    """CPU of the server's tree, its database's backends and its core, around one phase."""

    def __init__(self, pid: int, pg: PostgresCpu, cores: set[int]) -> None:
        self.pid, self.pg, self.cores = pid, pg, cores

    def __enter__(self) -> Meter:
        self.pg_before = self.pg.snapshot()
        self.cpu_before = tree_cpu(self.pid)
        self.core_before = core_busy(self.cores)
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = tree_cpu(self.pid) - self.cpu_before
        self.core = core_busy(self.cores) - self.core_before
        self.pg_cpu = PostgresCpu.spent(self.pg_before, self.pg.snapshot())

    def fill(self, phase: Phase) -> None:
        phase.cpu_seconds = self.cpu
        phase.pg_cpu_seconds = self.pg_cpu if self.pg.database else None
        phase.other_share = max(0.0, self.core - self.cpu) / max(phase.seconds, 1e-9)


# ---------------------------------------------------------------- load generators


def run_wrk(url: str, pool: Path, *, mode: str, seconds: float, args: argparse.Namespace) -> Phase:
    """wrk on the load core: one thread, ``--connections`` keep-alive connections."""
    out = pool.with_suffix(".out")
    env = {
        **os.environ,
        "BENCH_WRK_POOL": str(pool),
        "BENCH_WRK_MODE": mode,
        "BENCH_WRK_OUT": str(out),
    }
    command = [
        *("taskset", "-c", args.load_cores, "wrk", "-t1", f"-c{args.connections}"),
        *(f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA), url),
    ]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    values: dict[str, int] = {}
    phase = Phase(seconds=0.0, answered=0)
    for line in out.read_text().splitlines():
        key, *rest = line.split()
        if key == "status":
            phase.statuses[rest[0]] += int(rest[1])
        elif key == "result":
            phase.results[rest[0]] += int(rest[1])
        elif key == "acked":
            phase.acked.append(rest[0])
        else:
            values[key] = int(rest[0])
    phase.seconds = values["duration_us"] / 1e6
    phase.answered = sum(phase.statuses.values())
    phase.exhausted = values["exhausted"] == 1
    for name in ("connect", "read", "write", "timeout"):
        if values[f"error_{name}"]:
            phase.statuses[f"socket {name} error"] += values[f"error_{name}"]
    phase.sent_count = values["sent"]
    return phase


def http_request(port: int, payload: bytes) -> bytes:
    head = (
        f"POST /billing/webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Stripe-Signature: {sign(payload, SECRET)}\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def paced(port: int, events: list[tuple[str, bytes]], rate: float, connections: int) -> Phase:
    """Open loop: request i is due at start + i/rate whatever came back before it; it goes out
    on the first free connection, and its latency counts from when it was due (wrk2's
    correction for coordinated omission). Timer granularity (about a millisecond under
    asyncio) is inside the numbers, which is why they are reported in ms, not us."""
    raw = [http_request(port, payload) for _, payload in events]
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    phase = Phase(seconds=len(events) / rate, answered=0)

    async def open_connection() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", port)

    async def worker(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        while (item := await queue.get()) is not None:
            index, due = item
            phase.sent.append(events[index][0])
            try:
                if stream is None:
                    stream = await open_connection()
                reader, writer = stream
                writer.write(raw[index])
                phase.send_lags.append(time.perf_counter() - due)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                lines = head.decode("latin-1").split("\r\n")
                status = lines[0].split()[1]
                headers = dict(
                    (name.strip().lower(), value.strip())
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                )
                answer = await asyncio.wait_for(
                    reader.readexactly(int(headers.get("content-length", "0"))), 30
                )
                phase.latencies.append(time.perf_counter() - due)
                phase.statuses[status] += 1
                phase.answered += 1
                with contextlib.suppress(ValueError, AttributeError):
                    receipt = json.loads(answer)
                    if "result" in receipt:
                        phase.results[receipt["result"]] += 1
                    if status == "200" and "event_id" in receipt:
                        phase.acked.append(receipt["event_id"])
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    stream = None
            except (OSError, asyncio.IncompleteReadError, TimeoutError, asyncio.LimitOverrunError):
                phase.statuses["socket error"] += 1
                if stream is not None:
                    stream[1].close()
                stream = None
        if stream is not None:
            stream[1].close()

    streams = [await open_connection() for _ in range(connections)]
    workers = [asyncio.create_task(worker(stream)) for stream in streams]
    start = time.perf_counter() + 0.01
    for index in range(len(events)):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((index, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return phase


def deliver_again(url: str, server: Server, event_ids: Iterable[str]) -> int:
    """Stripe's retry: each event again, freshly signed, until it is answered 200 (5 tries)."""
    count = 0
    with httpx.Client(timeout=30) as http:
        for event_id in event_ids:
            payload = server.events[event_id]
            count += 1
            for _ in range(5):
                answer = http.post(
                    url, content=payload, headers={"Stripe-Signature": sign(payload, SECRET)}
                )
                if answer.status_code == 200:
                    break
            else:
                server.problems.append(f"{event_id} never answered 200 on retry")
    return count


# ---------------------------------------------------------------- servers


def command_for(spec: Spec, port: int) -> list[str]:
    if spec.kind == "serve":
        return [
            str(BIN / "stripetopup"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(spec.workers),
        ]
    module = "bare_webhook_app" if spec.kind == "bare" else "bare_sqlite_app"
    return [
        *(sys.executable, "-m", "uvicorn", f"{module}:app", "--app-dir", str(HERE)),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"),
    ]


@contextlib.contextmanager
def running(server: Server, args: argparse.Namespace, log: Path) -> Iterator[tuple[int, int]]:
    """The server on a free port, pinned to the server cores; yields (pid, port)."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            ["taskset", "-c", args.server_cores, *command_for(server.spec, port)],
            env=server.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/billing/webhook"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.post(url, content=b"{}", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{server.spec.name} did not start (see {log})") from None
                time.sleep(0.1)
        yield process.pid, port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cli(server: Server, *argv: str) -> str:
    done = subprocess.run(
        [str(BIN / "stripetopup"), *argv],
        env=server.env,
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 and argv[:2] != ("ledger", "verify"):
        raise RuntimeError(f"stripetopup {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout if done.returncode == 0 else done.stdout + done.stderr


def prepare(spec: Spec, workdir: Path, base_env: dict[str, str]) -> Server:
    env = dict(base_env)
    server = Server(spec, env)
    if spec.kind == "bare_sqlite":
        env["BENCH_SQLITE_PATH"] = str(workdir / f"{spec.key}-bare.db")
    if spec.kind != "serve":
        return server
    if spec.database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{workdir / f'{spec.key}-stripetopup.db'}"
    else:
        import psycopg

        server.database_name = f"bench_{secrets.token_hex(6)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{server.database_name}"')
        env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{server.database_name}"
    cli(server, "db", "upgrade")
    cli(server, "accounts", "create", ACCOUNT)
    return server


def drop(server: Server) -> None:
    if server.database_name is None:
        return
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{server.database_name}" WITH (FORCE)')


def postgres_up() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


# ---------------------------------------------------------------- one round of one server


def load_phase(
    server: Server,
    url: str,
    meter: Meter,
    workdir: Path,
    *,
    seconds: float,
    count: int,
    args: argparse.Namespace,
    warmup: bool = False,
) -> Phase:
    """wrk with ``count`` fresh distinct events (signed now) for ``seconds``."""
    events = fresh_events(count)
    pool = workdir / f"{server.spec.key}-pool.tsv"
    write_pool(pool, (payload for _, payload in events))
    with meter:
        phase = run_wrk(url, pool, mode="once", seconds=seconds, args=args)
    meter.fill(phase)
    phase.sent = [event_id for event_id, _ in events[: phase.sent_count]]
    if server.spec.credits:
        server.events.update(events[: phase.sent_count])
    if phase.exhausted and not warmup:
        server.problems.append(f"wrk ran out of events ({count}); that round's rate is low")
    return phase


def settle(server: Server, url: str, phase: Phase, result: RoundResult) -> None:
    """Deliver again what was sent but not acknowledged (stripetopup servers only)."""
    if not server.spec.credits:
        return
    unanswered = set(phase.sent) - set(phase.acked)
    result.retried += deliver_again(url, server, sorted(unanswered))


def one_round(server: Server, args: argparse.Namespace, workdir: Path) -> RoundResult:
    spec = server.spec
    with running(server, args, workdir / f"{spec.key}-server.log") as (pid, port):
        url = f"http://127.0.0.1:{port}/billing/webhook"
        meter = Meter(pid, PostgresCpu(server.database_name), args.server_set)
        guess = server.rate_estimate or 5000.0
        warm = load_phase(
            server,
            url,
            meter,
            workdir,
            seconds=args.warmup,
            count=int(guess * args.warmup * 2),
            args=args,
            warmup=True,
        )
        server.rate_estimate = max(server.rate_estimate, warm.rate)
        top = load_phase(
            server,
            url,
            meter,
            workdir,
            seconds=args.seconds,
            count=int(server.rate_estimate * args.seconds * 1.6) + 2000,
            args=args,
        )
        server.rate_estimate = max(server.rate_estimate, top.rate)
        result = RoundResult(top=top)
        settle(server, url, warm, result)
        settle(server, url, top, result)

        result.paced_rate = max(top.rate / 2, 1.0)
        events = fresh_events(max(int(result.paced_rate * args.latency_seconds), 1))
        if spec.credits:
            server.events.update(events)
        with meter:
            result.paced = asyncio.run(paced(port, events, result.paced_rate, args.connections))
        meter.fill(result.paced)
        lag = percentile(result.paced.send_lags, 0.99) or 0.0
        if lag > 0.005:
            server.late_pacer.append(lag)
        settle(server, url, result.paced, result)

        if spec.key in DUPLICATES and not args.no_duplicates:
            applied = list(dict.fromkeys(top.acked))[:DUPLICATE_POOL]
            pool = workdir / f"{spec.key}-duplicates.tsv"
            write_pool(pool, (server.events[event_id] for event_id in applied))
            with meter:
                result.duplicates = run_wrk(
                    url, pool, mode="cycle", seconds=args.seconds, args=args
                )
            meter.fill(result.duplicates)
    if spec.credits:
        result.check = check_balance(server)
    return result


def check_balance(server: Server) -> str:
    """The account's balance must be every distinct event sent, once, times the amount."""
    answer = json.loads(cli(server, "balance", ACCOUNT, "--json"))
    expected = len(server.events) * AMOUNT
    if answer["balance_cents"] == expected:
        return "ok"
    problem = f"balance {answer['balance_cents']} != {len(server.events)} events x {AMOUNT}"
    server.problems.append(problem)
    return "WRONG"


# ---------------------------------------------------------------- the table


def median(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


@dataclass(frozen=True)
class Row:
    name: str
    rate: float | None
    ratio: float | None
    cpu_ratio: float | None  # bare's CPU per request / this one's: a dedicated core's ratio
    cpu_ms: float | None
    pg_ms: float | None
    p50: float | None
    p99: float | None
    paced_rate: float | None
    non_ok: int
    retried: int
    other: float | None
    check: str
    rates: tuple[float, ...] = ()  # each round's maximum rate, in round order


def rows(servers: list[Server]) -> dict[str, Row]:
    bare = next(s for s in servers if s.spec.key == "A")
    bare_rates = [r.top.rate for r in bare.rounds]
    bare_cpu = [r.top.cpu_ms_per_request() for r in bare.rounds]
    out = {}
    for server in servers:
        rounds = server.rounds
        ratios = [r.top.rate / b for r, b in zip(rounds, bare_rates, strict=False) if b]
        cpu_ratios = [
            b / c
            for r, b in zip(rounds, bare_cpu, strict=False)
            if (c := r.top.cpu_ms_per_request())
        ]
        pg = [
            1000 * r.top.pg_cpu_seconds / max(r.top.answered, 1)
            for r in rounds
            if r.top.pg_cpu_seconds is not None
        ]
        non_ok = sum(
            p.non_ok for r in rounds for p in (r.top, r.paced, r.duplicates) if p is not None
        )
        checks = {r.check for r in rounds if r.check}
        row = Row(
            server.spec.name,
            median(r.top.rate for r in rounds),
            median(ratios),
            median(cpu_ratios),
            median(r.top.cpu_ms_per_request() for r in rounds),
            median(pg),
            median(percentile(r.paced.latencies, 0.5) for r in rounds if r.paced),
            median(percentile(r.paced.latencies, 0.99) for r in rounds if r.paced),
            median(r.paced_rate for r in rounds),
            non_ok,
            sum(r.retried for r in rounds),
            median(max(p.other_share for p in (r.top, r.paced) if p) for r in rounds),
            ("WRONG" if "WRONG" in checks else "ok") if checks else "-",
            tuple(r.top.rate for r in rounds),
        )
        out[server.spec.key] = row
        dups = [r.duplicates for r in rounds if r.duplicates is not None]
        if dups:
            dup_ratios = [
                d.rate / b
                for r, b in zip(rounds, bare_rates, strict=False)
                if (d := r.duplicates) is not None and b
            ]
            out[server.spec.key + "dup"] = Row(
                server.spec.name.replace("serve", "duplicates"),
                median(d.rate for d in dups),
                median(dup_ratios),
                median(
                    b / c
                    for d, b in zip(dups, bare_cpu, strict=False)
                    if (c := d.cpu_ms_per_request())
                ),
                median(d.cpu_ms_per_request() for d in dups),
                median(
                    1000 * d.pg_cpu_seconds / max(d.answered, 1)
                    for d in dups
                    if d.pg_cpu_seconds is not None
                ),
                None,
                None,
                None,
                0,
                0,
                median(d.other_share for d in dups),
                row.check,
            )
    return out


def print_table(table: dict[str, Row]) -> None:
    header = (
        f"{'server':24s} {'req/s':>7s} {'x bare':>6s} {'cpu x':>5s} {'cpu ms':>6s} {'pg ms':>6s} "
        f"{'p50 ms':>6s} {'p99 ms':>6s} {'@ req/s':>7s} {'non200':>6s} {'retry':>5s} "
        f"{'other%':>6s} {'credit':>6s}"
    )
    print(header)
    print("-" * len(header))
    for row in table.values():
        print(
            f"{row.name:24s} {fmt(row.rate, '.0f'):>7s} {fmt(row.ratio, '.2f'):>6s} "
            f"{fmt(row.cpu_ratio, '.2f'):>5s} "
            f"{fmt(row.cpu_ms, '.2f'):>6s} {fmt(row.pg_ms, '.2f'):>6s} "
            f"{fmt(row.p50 and row.p50 * 1000):>6s} {fmt(row.p99 and row.p99 * 1000):>6s} "
            f"{fmt(row.paced_rate, '.0f'):>7s} {row.non_ok:>6d} {row.retried:>5d} "
            f"{fmt(row.other and row.other * 100, '.0f'):>6s} {row.check:>6s}"
        )


def verdicts(table: dict[str, Row]) -> list[tuple[str, bool]]:
    out = []

    def at_least(key: str, floor: float, what: str) -> None:
        row = table.get(key)
        if row is not None and row.ratio is not None:
            cpu = f" (by CPU per request {row.cpu_ratio:.2f}x)" if row.cpu_ratio else ""
            text = f"{row.name} >= {floor}x bare {what}: {row.ratio:.2f}x{cpu}"
            out.append((text, row.ratio >= floor))

    for key in ("C", "D"):
        at_least(key, 0.7, "(SQLite)")
    for key in ("E", "F"):
        at_least(key, 0.5, "(PostgreSQL)")
    for key in ("C", "D", "E", "F"):
        row = table.get(key)
        if row is not None and row.p99 is not None:
            out.append(
                (
                    f"{row.name} p99 < 50 ms at half max rate: {row.p99 * 1000:.1f} ms",
                    row.p99 < 0.05,
                )
            )
    if "C" in table and "D" in table and table["C"].rate and table["D"].rate:
        # Each round's 2-worker rate over that round's 1-worker rate, as "x bare" is taken:
        # the two run back to back, so the machine's slow drift cancels.
        c, d = table["C"], table["D"]
        ratio = median(two / one for one, two in zip(c.rates, d.rates, strict=False) if one)
        if ratio is not None:
            text = (
                f"2 workers >= 1 worker on SQLite: {ratio:.2f}x (each round's 2w/1w; "
                f"medians {d.rate:.0f} vs {c.rate:.0f} req/s)"
            )
            out.append((text, ratio >= 1))
    for key in ("Cdup", "Edup"):
        at_least(key, 0.9, "(already applied)")
    return out


# ---------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="each maximum-rate phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["sqlite", "pg"], help="the bare ones and these")
    parser.add_argument("--latency-seconds", type=float, default=5, help="each paced phase")
    parser.add_argument("--warmup", type=float, default=2, help="seconds before each round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--server-cores", default="1", help="taskset list for every server")
    parser.add_argument("--load-cores", default="0", help="taskset list for wrk and this script")
    parser.add_argument("--no-duplicates", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every round's numbers here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    args.server_set = cores(args.server_cores)
    return args


def cores(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def main() -> int:
    args = parse_args()
    for tool, install in (
        ("wrk", "apt-get install wrk"),
        ("taskset", "apt-get install util-linux"),
    ):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed; install it first ({install}).", file=sys.stderr)
            return 2
    if args.server_set & cores(args.load_cores) or len(os.sched_getaffinity(0)) < 2:
        print("needs 2 cores: the servers and the load on different ones", file=sys.stderr)
        return 2
    os.sched_setaffinity(
        0, cores(args.load_cores)
    )  # this script, wrk and the CLI: off the server core
    specs = [s for s in SPECS if args.only is None or s.database in (None, args.only)]
    if any(s.database == "pg" for s in specs) and not postgres_up():
        if args.only == "pg":
            print(f"PostgreSQL is not reachable at {PG_ADMIN_URL}", file=sys.stderr)
            return 2
        print(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: its servers are skipped")
        specs = [s for s in specs if s.database != "pg"]

    workdir = Path(tempfile.mkdtemp(prefix="stripetopup-bench-webhook-"))
    base_env = {
        **os.environ,
        "BENCH_WEBHOOK_SECRET": SECRET,
        "STRIPE_SECRET_KEY": "sk_test_bench" + secrets.token_hex(8),
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPETOPUP_ENV_FILE": os.devnull,
        "STRIPETOPUP_LOG_LEVEL": "WARNING",
    }
    print(
        f"webhook bench: {args.rounds} rounds x {len(specs)} servers, {args.seconds:g} s at max, "
        f"{args.latency_seconds:g} s paced, {args.connections} connections; servers on core(s) "
        f"{args.server_cores}, wrk and pacer on {args.load_cores}; work dir {workdir}",
        flush=True,
    )
    servers: list[Server] = []
    started = time.monotonic()
    try:
        servers = [prepare(spec, workdir, base_env) for spec in specs]
        for number in range(1, args.rounds + 1):
            for server in servers:
                load = os.getloadavg()[0]
                result = one_round(server, args, workdir)
                server.rounds.append(result)
                dup = f", duplicates {result.duplicates.rate:.0f}/s" if result.duplicates else ""
                print(
                    f"round {number} {server.spec.key} {server.spec.name:22s} "
                    f"{result.top.rate:7.0f} req/s "
                    f"{result.top.cpu_ms_per_request():6.2f} cpu ms/req"
                    f"  other {result.top.other_share * 100:3.0f}%  load {load:4.1f}{dup}"
                    f"  {result.check}",
                    flush=True,
                )
        for server in servers:
            if server.spec.credits:
                verify = cli(server, "ledger", "verify", "--json")
                try:
                    clean = json.loads(verify)["ok"] is True
                except (ValueError, KeyError):
                    clean = False
                if not clean:
                    server.problems.append("ledger verify: " + verify.strip()[:300])
    finally:
        for server in servers:
            drop(server)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{args.rounds} rounds in {time.monotonic() - started:.0f} s; medians over rounds")
    table = rows(servers)
    print_table(table)
    print(
        "\ncpu x: bare's cpu ms / this one's (what x bare would be on a core of its own: a busy"
        "\nmachine spoils req/s, hardly CPU per request); cpu ms: the server's process tree per"
        "\nanswered request; pg ms: PostgreSQL's backends for its database (unpinned, not in cpu"
        "\nms); p50/p99: paced open-loop at @ req/s (half the max); retry: unanswered at a phase's"
        "\nend, delivered again; credit: balance = every distinct event sent x amount after the"
        "\nretries, checked after each round; other%: the server core's time spent on others."
    )
    print(f"\n{TARGETS}")
    for text, ok in verdicts(table):
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    problems = [f"{s.spec.name}: {p}" for s in servers for p in s.problems]
    for problem in problems:
        print(f"  PROBLEM  {problem}")
    for server in servers:
        if server.late_pacer:
            print(
                f"  NOISE    {server.spec.name}: the pacer sent late in {len(server.late_pacer)} "
                f"of {len(server.rounds)} rounds (p99 up to {max(server.late_pacer) * 1000:.0f} ms"
                " behind schedule): the load core was busy, and its delay is in p50/p99"
            )
    if args.json:
        args.json.write_text(json.dumps(dump(servers), indent=1))
    return 1 if any("balance" in p or "ledger" in p or "never" in p for p in problems) else 0


def dump(servers: list[Server]) -> list[dict[str, Any]]:
    def phase(p: Phase | None) -> dict[str, Any] | None:
        if p is None:
            return None
        return {
            "seconds": p.seconds,
            "answered": p.answered,
            "rate": p.rate,
            "cpu_ms_per_request": p.cpu_ms_per_request(),
            "pg_cpu_seconds": p.pg_cpu_seconds,
            "other_share": p.other_share,
            "statuses": dict(p.statuses),
            "results": dict(p.results),
            "p50": percentile(p.latencies, 0.5),
            "p99": percentile(p.latencies, 0.99),
            "send_lag_p99": percentile(p.send_lags, 0.99),
        }

    return [
        {
            "server": s.spec.name,
            "problems": s.problems,
            "rounds": [
                {
                    "top": phase(r.top),
                    "paced": phase(r.paced),
                    "paced_rate": r.paced_rate,
                    "duplicates": phase(r.duplicates),
                    "retried": r.retried,
                    "check": r.check,
                }
                for r in s.rounds
            ],
        }
        for s in servers
    ]


if __name__ == "__main__":
    sys.exit(main())
