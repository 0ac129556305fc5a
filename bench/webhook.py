"""Webhook throughput: stripetopup's /billing/webhook against a bare FastAPI endpoint that
only verifies the signature (bench/bare_webhook_app.py). Target: ours >= 0.7x of bare.

Both run as one uvicorn process on 127.0.0.1; the same client load (threads, keep-alive)
sends fresh, really signed `checkout.session.completed` events for a known account, so
every request to stripetopup records an event and credits once (SQLite file, WAL).

    .venv/bin/python bench/webhook.py [REQUESTS] [CONCURRENCY] [DATABASE_URL]
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.servers import free_port
from tests.support.stripe_events import body, checkout_session, event, sign

SECRET = "whsec_bench_" + secrets.token_hex(16)
ACCOUNT = "acct-bench"


def wait_up(url: str) -> None:
    for _ in range(200):
        try:
            httpx.post(url, content=b"{}", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def load(url: str, requests: int, concurrency: int) -> float:
    payloads = [
        body(event("checkout.session.completed", checkout_session(ACCOUNT, 500)))
        for _ in range(requests)
    ]
    per_worker = [payloads[i::concurrency] for i in range(concurrency)]

    def worker(batch: list[bytes]) -> None:
        with httpx.Client(timeout=30) as http:
            for payload in batch:
                response = http.post(
                    url, content=payload, headers={"Stripe-Signature": sign(payload, SECRET)}
                )
                assert response.status_code == 200, response.text

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, per_worker))
    return requests / (time.perf_counter() - started)


def serve(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_up(f"http://127.0.0.1:{port}/billing/webhook")
    return process


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    workdir = Path(tempfile.mkdtemp(prefix="stripetopup-bench-"))
    database_url = sys.argv[3] if len(sys.argv) > 3 else f"sqlite:///{workdir / 'bench.db'}"
    env = {
        **os.environ,
        "BENCH_WEBHOOK_SECRET": SECRET,
        "STRIPE_SECRET_KEY": "sk_test_bench" + secrets.token_hex(8),
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "DATABASE_URL": database_url,
        "STRIPETOPUP_ENV_FILE": os.devnull,
        "STRIPETOPUP_LOG_LEVEL": "WARNING",
    }
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "stripetopup"), "db", "upgrade"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [str(bin_dir / "stripetopup"), "accounts", "create", ACCOUNT],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )

    results = {}
    for name, command in {
        "bare": [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_webhook_app:app",
            "--app-dir",
            str(Path(__file__).parent),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        "stripetopup": [str(bin_dir / "stripetopup"), "serve"],
    }.items():
        port = free_port()
        process = serve([*command, "--port", str(port)], env, port)
        try:
            url = f"http://127.0.0.1:{port}/billing/webhook"
            load(url, min(200, requests), concurrency)  # warm-up
            results[name] = load(url, requests, concurrency)
        finally:
            process.terminate()
            process.wait(10)
        print(
            f"{name:12s} {results[name]:8.0f} req/s  ({requests} requests, {concurrency} clients)"
        )
    print(
        f"ratio stripetopup/bare: {results['stripetopup'] / results['bare']:.2f} (target >= 0.70)"
    )


if __name__ == "__main__":
    main()
