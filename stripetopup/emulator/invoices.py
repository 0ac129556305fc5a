"""Post-purchase invoices: created when a session with ``invoice_creation`` is paid.

``create_for_session`` stores the paid invoice, sets the session's ``invoice`` and returns
``invoice.created``, ``invoice.finalized``, ``invoice.paid`` and ``invoice.payment_succeeded``
(each with its own snapshot), as Stripe sends them for Checkout invoices. Also
``GET /v1/invoices/{id}`` and what the receipt says (rows, and those rows as a PDF) for the
pages in ``invoice_page``. Imports only the stdlib.
"""

from __future__ import annotations

from stripetopup.emulator import invoice_objects
from stripetopup.emulator.calls import Call, only
from stripetopup.emulator.listing import expand, expand_params
from stripetopup.emulator.state import EmulatorState, Obj
from stripetopup.emulator.stripe_errors import no_such

Change = tuple[str, Obj, Obj | None]


def create_for_session(state: EmulatorState, session: Obj) -> list[Change]:
    """The paid invoice of a completed session (caller holds the lock); its four events."""
    if not session["invoice_creation"]["enabled"] or session.get("invoice"):
        return []
    customer = state.customers[session["customer"]]
    paid = invoice_objects.invoice(
        session=session,
        items=state.line_items.get(session["id"], []),
        customer=customer,
        now=state.clock.now(),
        base_url=state.session_bases.get(session["id"], ""),
        tax_behavior=state.tax_behavior,
    )
    state.invoices[paid["id"]] = paid
    session["invoice"] = paid["id"]
    return [
        ("invoice.created", invoice_objects.draft(paid), None),
        ("invoice.finalized", invoice_objects.finalized(paid), {"status": "draft"}),
        ("invoice.paid", paid, {"status": "open", "amount_paid": 0}),
        ("invoice.payment_succeeded", paid, {"status": "open", "amount_paid": 0}),
    ]


def retrieve_invoice(call: Call) -> Obj:
    only(call.params, {"expand"})
    found = call.state.invoices.get(call.path["id"])
    if found is None:
        raise no_such("invoice", call.path["id"])
    return expand(call.state, found, expand_params(call.params))


# -- the receipt a buyer opens ----------------------------------------------------------
def _money(minor: int, currency: str) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d} {currency.upper()}"


def receipt_lines(invoice: Obj) -> list[tuple[str, str]]:
    """What the receipt says, row by row (shared by the HTML page and the PDF)."""
    currency = invoice["currency"]
    rows = [("Receipt", str(invoice["number"])), ("Invoice", invoice["id"])]
    rows += [
        (f"{line['description']} x {line['quantity']}", _money(line["amount"], currency))
        for line in invoice["lines"]["data"]
    ]
    discount = sum(d["amount"] for d in invoice["total_discount_amounts"])
    if discount:
        rows.append(("Discount", _money(-discount, currency)))
    for tax in invoice["total_taxes"]:
        rows.append((f"Tax ({tax['tax_behavior']})", _money(tax["amount"], currency)))
    rows.append(("Amount paid", _money(invoice["amount_paid"], currency)))
    return rows


def pdf(rows: list[tuple[str, str]]) -> bytes:
    """A one-page PDF listing ``rows`` (Helvetica, ASCII only)."""

    def clean(value: str) -> str:
        ascii_only = value.encode("ascii", "replace").decode("ascii")
        return ascii_only.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = ["BT /F1 12 Tf 72 760 Td 16 TL"]
    text += [f"({clean(label)}    {clean(value)}) Tj T*" for label, value in rows]
    text.append("ET")
    stream = "\n".join(text).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
