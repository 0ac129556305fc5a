"""The webhook benchmark's baseline: a bare FastAPI endpoint that only verifies the signature
with the stripe SDK (no database, no processing). Served by bench/webhook.py.
"""

from __future__ import annotations

import os

import stripe
from fastapi import FastAPI, Request, Response

SECRET = os.environ["BENCH_WEBHOOK_SECRET"]
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
    return Response(content=b'{"received": true}', media_type="application/json")
