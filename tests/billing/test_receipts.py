"""Receipts: invoice.paid queues billing.receipt; the worker renders the PDF and queues the
email (template receipt, PDF attached) for the email worker."""

from __future__ import annotations

import base64
import io
import json
import os
from urllib.parse import urlsplit

import fake_stripe
from billing_support import new_user
from pypdf import PdfReader

from flagship.database import connect
from flagship.testing.harness import create_user, with_database
from sync import billing as sync_billing
from sync.handlers import REGISTRY, Job
from sync.settings import WorkerSettings
from sync.worker import Worker


def pay_invoice(conn, user_id: str, email_customer: str | None = None) -> dict:
    """Run a real invoice.paid through the SQL entry points (as the edge would)."""
    fake = fake_stripe.FakeStripe()
    customer = fake.customer(user_id)
    conn.execute(
        "insert into billing.customers (user_id, stripe_customer_id, name) values (%s, %s, %s)",
        (user_id, customer["id"], email_customer),
    )
    sub = fake.subscription(customer["id"], status="active")
    inv = fake.invoice(customer["id"], sub["id"], status="paid")
    evt = fake_stripe.event("invoice.paid", inv)
    conn.execute("set role service_role")
    conn.execute("select billing.record_event(%s::jsonb)", (json.dumps(evt),))
    conn.execute(
        "select billing.process_event(%s, %s::jsonb)",
        (evt["id"], json.dumps({"subscription": sub})),
    )
    conn.execute("reset role")
    return inv


def receipt_job(conn, invoice_id: str) -> Job:
    row = conn.execute(
        "select * from ops.outbox where topic = 'billing.receipt'"
        " and payload ->> 'invoice_id' = %s",
        (invoice_id,),
    ).fetchone()
    assert row is not None, "invoice.paid queued no receipt"
    return Job.from_row(row)


def test_receipt_pdf_is_rendered_and_its_email_queued(billing_db):
    user = new_user(billing_db)
    with connect(billing_db) as conn:
        inv = pay_invoice(conn, user.id, "Ada Lovelace")
        job = receipt_job(conn, inv["id"])
        email_id = sync_billing.handle_receipt(conn, job)
        assert email_id is not None
        # at-least-once delivery: a retried job queues no second email
        assert sync_billing.handle_receipt(conn, job) == email_id
        row = conn.execute("select * from ops.outbox where id = %s", (email_id,)).fetchone()
        conn.rollback()
    assert row["topic"] == "email.send" and row["status"] == "pending"
    mail = row["payload"]
    assert mail["template"] == "receipt"
    assert mail["to"] == user.email
    assert inv["number"] in mail["subject"]
    assert mail["data"]["amount_paid"] == 1500 and mail["data"]["currency"] == "usd"
    [attachment] = mail["attachments"]
    assert attachment["content_type"] == "application/pdf"
    assert attachment["filename"] == f"receipt-{inv['number']}.pdf"
    pdf = base64.b64decode(attachment["content_base64"])
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Receipt" in text
    assert inv["number"] in text
    assert "15.00 USD" in text
    assert "Ada Lovelace" in text


def test_unknown_invoice_sends_nothing(billing_db):
    with connect(billing_db) as conn:
        job = Job(id=0, topic="billing.receipt", payload={"invoice_id": "in_nope"}, attempts=1,
                  max_attempts=8)  # fmt: skip
        assert sync_billing.handle_receipt(conn, job) is None


def test_render_handles_zero_decimal_currency_and_unicode():
    pdf = sync_billing.render_receipt({
        "invoice": {"id": "in_1", "number": None, "currency": "jpy", "amount_paid": 1500,
                    "lines": [{"description": "Pro — 東京", "amount": 1500}]},
        "to": "x@example.test",
    })  # fmt: skip
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "1,500 JPY" in text


def worker_settings(app_url: str) -> WorkerSettings:
    return WorkerSettings.from_env({**os.environ, "DATABASE_URL": app_url})


def test_the_worker_delivers_the_receipt_job(fresh_db, test_server):
    assert REGISTRY["billing.receipt"] is sync_billing.receipt_handler
    app_url = with_database(fresh_db, urlsplit(fresh_db).path.lstrip("/"), test_server.app_user)
    with connect(fresh_db) as conn:
        user = create_user(conn)
        inv = pay_invoice(conn, user.id)
        conn.commit()
    handlers = {"billing.receipt": sync_billing.receipt_handler(worker_settings(app_url))}
    with Worker(app_url, handlers=handlers) as worker:
        while worker.run_once():
            pass
    with connect(fresh_db) as conn:
        jobs = {
            r["topic"]: r
            for r in conn.execute("select topic, status, payload from ops.outbox").fetchall()
            if r["topic"] in ("billing.receipt", "email.send")
        }
    assert jobs["billing.receipt"]["status"] == "done"
    assert jobs["email.send"]["payload"]["template"] == "receipt"
    assert jobs["email.send"]["payload"]["data"]["invoice_id"] == inv["id"]


def test_receipt_reaches_the_mailbox_with_its_pdf(fresh_db, test_server, monkeypatch):
    """Issue 7's end of the line: invoice paid → PDF → email job → the local mailbox."""
    monkeypatch.delenv("RESEND_API_KEY", raising=False)
    from sync.email import email_send

    app_url = with_database(fresh_db, urlsplit(fresh_db).path.lstrip("/"), test_server.app_user)
    with connect(fresh_db) as conn:
        user = create_user(conn)
        inv = pay_invoice(conn, user.id, "Grace Hopper")
        conn.commit()
    handlers = {
        "billing.receipt": sync_billing.receipt_handler(worker_settings(app_url)),
        "email.send": email_send(worker_settings(app_url)),
    }
    with Worker(app_url, handlers=handlers) as worker:
        while worker.run_once():
            pass
    with connect(fresh_db) as conn:
        mails = conn.execute(
            "select * from ops.mailbox where to_address = %s and template = 'receipt'",
            (user.email,),
        ).fetchall()
        statuses = {
            r["topic"]: r["status"]
            for r in conn.execute("select topic, status from ops.outbox").fetchall()
        }
    assert statuses["billing.receipt"] == "done" and statuses["email.send"] == "done"
    [mail] = mails
    assert inv["number"] in mail["subject"] and "15.00 USD" in mail["text_body"]
    [attachment] = mail["attachments"]
    assert attachment["filename"] == f"receipt-{inv['number']}.pdf"
    pdf = base64.b64decode(attachment["content_base64"])
    assert attachment["size"] == len(pdf) and pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Grace Hopper" in text
