"""The two pages the offline demo returns to after the hosted checkout (success, cancel).

A real deployment's frontend owns these URLs; the demo has no frontend, so the app serves
plain stand-ins. Only mounted by ``serve --emulator``.
"""

from __future__ import annotations

import html

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(prefix="/billing", include_in_schema=False)

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>{title}</h1><p>{body}</p></body></html>"""


@router.get("/success", response_class=HTMLResponse)
async def success(session_id: str = "") -> str:
    body = (
        f"Checkout Session <code>{html.escape(session_id)}</code> is complete. The balance "
        "is credited when Stripe's signed webhook arrives (a moment later); check it with "
        "<code>stripetopup balance demo</code>."
    )
    return _PAGE.format(title="Payment received", body=body)


@router.get("/cancel", response_class=HTMLResponse)
async def cancel() -> str:
    return _PAGE.format(title="Payment cancelled", body="Nothing was charged.")
