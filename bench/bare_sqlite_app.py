"""The webhook benchmark's second baseline: the bare verify-only endpoint
(bench/bare_webhook_app.py) plus one durable SQLite insert per request, on one connection
in WAL mode with ``synchronous=FULL`` (so each commit waits for the disk, as ours must).

The insert and its commit run inline on the event loop, one request after another: the
cost of one durable commit per webhook, with no ORM, no batching and no thread hop. A
duplicate event id is ignored, as a real receiver would. Served by bench/webhook.py
(``BENCH_WEBHOOK_SECRET``, ``BENCH_SQLITE_PATH``).
"""

from __future__ import annotations

import json
import os
import sqlite3

import stripe
from fastapi import FastAPI, Request, Response

SECRET = os.environ["BENCH_WEBHOOK_SECRET"]
connection = sqlite3.connect(os.environ["BENCH_SQLITE_PATH"], isolation_level=None)
connection.execute("PRAGMA journal_mode=WAL")
connection.execute("PRAGMA synchronous=FULL")
connection.execute("CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
app = FastAPI()


@app.post("/billing/webhook")
async def webhook(request: Request) -> Response:
    payload = await request.body()
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode(), request.headers.get("stripe-signature", ""), SECRET, 300
        )
    except stripe.SignatureVerificationError:
        return Response(status_code=400)
    event_id = json.loads(payload)["id"]
    connection.execute("BEGIN IMMEDIATE")
    connection.execute(
        "INSERT OR IGNORE INTO events (id, body) VALUES (?, ?)", (event_id, payload.decode())
    )
    connection.execute("COMMIT")
    return Response(
        content=json.dumps({"received": True, "event_id": event_id}).encode(),
        media_type="application/json",
    )
