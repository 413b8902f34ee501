"""Billing deliveries: the receipt of a paid invoice.

`billing.receipt` (queued by invoice.paid, once per invoice) → render the receipt PDF →
queue `email.send` with template `receipt` and the PDF attached (base64), once per invoice.
The email worker delivers it (Resend, or the local mailbox); the contract of that job is in
docs/billing.md. What the receipt shows and whom it goes to comes from SQL
(`billing.receipt_data`); this module only draws it.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import psycopg
from fpdf import FPDF

from flagship.database import connect
from flagship.logs import logger
from mail.money import money
from sync.handlers import Handler, Job, handler
from sync.settings import WorkerSettings

log = logger("sync.billing")


def _text(value: Any) -> str:
    # The core PDF fonts are Latin-1: keep what they can draw, replace the rest.
    return str(value if value is not None else "").encode("latin-1", "replace").decode("latin-1")


def _date(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d")


def render_receipt(data: dict[str, Any]) -> bytes:
    """The receipt of a paid invoice as PDF bytes."""
    inv = data["invoice"]
    currency = inv["currency"]
    pdf = FPDF(format="A4")
    pdf.set_title(_text(f"Receipt {inv.get('number') or inv['id']}"))
    pdf.set_author("Flagship")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 12, "Flagship - Receipt", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    rows = [
        ("Receipt number", inv.get("number") or inv["id"]),
        ("Invoice", inv["id"]),
        ("Date paid", _date(inv.get("paid_at") or inv.get("stripe_created"))),
        ("Billed to", data.get("customer_name") or data.get("to") or "-"),
        ("Plan", data.get("plan") or "-"),
        (
            "Period",
            f"{_date(inv.get('period_start'))} to {_date(inv.get('period_end'))}",
        ),
    ]
    for label, value in rows:
        pdf.cell(45, 7, _text(label))
        pdf.cell(0, 7, _text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(140, 8, "Description", border="B")
    pdf.cell(0, 8, "Amount", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for line in inv.get("lines") or []:
        pdf.cell(140, 7, _text(line.get("description") or "-"))
        pdf.cell(0, 7, money(line.get("amount"), currency), align="R",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(140, 8, "Amount paid", border="T")
    pdf.cell(0, 8, money(inv.get("amount_paid"), currency), border="T", align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    if inv.get("amount_refunded"):
        pdf.set_font("Helvetica", size=11)
        pdf.cell(140, 7, "Refunded")
        pdf.cell(0, 7, money(inv["amount_refunded"], currency), align="R",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(6)
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(0, 5, "Thank you. Payments are processed by Stripe; manage your plan from "
                   "your account's billing page.")  # fmt: skip
    return bytes(pdf.output())


def handle_receipt(conn: psycopg.Connection, job: Job) -> int | None:
    """Render the receipt of `job`'s invoice and queue its email; the email job's id.

    Runs in the caller's transaction: the email job exists only if it commits. An unknown
    invoice (deleted, or a job queued by hand) is logged and acknowledged.
    """
    invoice_id = job.payload.get("invoice_id")
    data = conn.execute("select billing.receipt_data(%s) as d", (invoice_id,)).fetchone()["d"]
    if data is None:
        log.warning("receipt: invoice unknown; nothing sent", job_id=job.id, invoice_id=invoice_id)
        return None
    pdf = render_receipt(data)
    filename = f"receipt-{data['invoice'].get('number') or invoice_id}.pdf"
    filename = "".join(c if c.isalnum() or c in "._-" else "-" for c in filename)[:100]
    row = conn.execute(
        "select billing.enqueue_receipt_email(%s, %s, %s) as id",
        (invoice_id, base64.b64encode(pdf).decode(), filename),
    ).fetchone()
    if row["id"] is None:
        log.warning("receipt: invoice has no recipient", job_id=job.id, invoice_id=invoice_id)
    else:
        log.info("receipt queued", invoice_id=invoice_id, email_job_id=row["id"])
    return row["id"]


@handler("billing.receipt")
def receipt_handler(settings: WorkerSettings) -> Handler:
    """The `billing.receipt` handler for the worker's database."""

    def deliver(job: Job) -> None:
        with connect(settings.database_url) as conn:
            handle_receipt(conn, job)
            conn.commit()

    return deliver
