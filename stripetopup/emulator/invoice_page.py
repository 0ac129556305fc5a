"""The receipt a buyer opens: ``hosted_invoice_url`` (``/i/{id}``) and ``invoice_pdf``.

Everything shown is HTML-escaped. Imports the stdlib and starlette.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from stripetopup.emulator.invoices import pdf, receipt_lines
from stripetopup.emulator.state import EmulatorState, Obj

_NOT_FOUND = "<!doctype html><title>Not found</title><h1>No such invoice.</h1>"


def routes(state: EmulatorState) -> list[Route]:
    def find(request: Request) -> Obj | None:
        with state.lock:
            return state.invoices.get(request.path_params["id"])

    async def page(request: Request) -> Response:
        invoice = find(request)
        if invoice is None:
            return HTMLResponse(
                "<!doctype html><title>Not found</title><h1>No such invoice.</h1>", 404
            )
        cells = "".join(
            f"<tr><th scope='row'>{escape(label)}</th><td>{escape(value)}</td></tr>"
            for label, value in receipt_lines(invoice)
        )
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Receipt {escape(str(invoice['number']))}</title></head><body>"
            "<p>Offline Stripe emulator: no real payment was made.</p>"
            f"<h1>Receipt</h1><table>{cells}</table>"
            f"<p><a href='/i/{escape(invoice['id'])}/pdf'>Download PDF</a></p></body></html>"
        )

    async def download(request: Request) -> Response:
        invoice = find(request)
        if invoice is None:
            return Response(b"No such invoice.", 404, media_type="text/plain")
        name = f"Receipt-{invoice['number']}.pdf"
        return Response(
            pdf(receipt_lines(invoice)),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )

    return [
        Route("/i/{id}", page, methods=["GET"]),
        Route("/i/{id}/pdf", download, methods=["GET"]),
    ]
