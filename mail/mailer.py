"""Send one email: through Resend when RESEND_API_KEY is set, else into ops.mailbox.

Both paths are idempotent per key: Resend's `Idempotency-Key` header (a retried job is not
sent again), and the mailbox's unique idempotency_key. Messages carry tags for category and
object, and, for categories one can leave, `List-Unsubscribe` + `List-Unsubscribe-Post`.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import anyio
import psycopg
import resend

from mail.catalog import KINDS
from mail.render import render
from mail.settings import MailConfig
from mail.unsubscribe import make_token

TAG_VALUE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass
class Message:
    template: str
    to: str
    data: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    # [{filename, content_type, content_base64}], validated by the caller (sync.email)
    attachments: list[dict[str, str]] = field(default_factory=list)


def tag(value: str) -> str:
    """Resend tag values: ASCII letters, digits, underscores and dashes, 256 at most."""
    return TAG_VALUE.sub("_", value)[:256] or "none"


def compose(message: Message, settings: MailConfig) -> dict[str, Any]:
    """The Resend `POST /emails` body for a message (also what the mailbox stores)."""
    kind = KINDS[message.template]
    category = message.category or kind.category
    headers: dict[str, str] = {}
    unsubscribe_url = None
    if kind.unsubscribable:
        token = make_token(settings.link_secret, message.to, category)
        unsubscribe_url = f"{settings.public_url}/functions/v1/unsubscribe?token={quote(token)}"
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    rendered = render(
        message.template, message.data, site_url=settings.site_url, unsubscribe_url=unsubscribe_url
    )
    tags = [
        {"name": "category", "value": tag(category)},
        {"name": "template", "value": tag(message.template)},
    ]
    if message.object_type:
        tags.append({"name": "object", "value": tag(f"{message.object_type}_{message.object_id}")})
    params: dict[str, Any] = {
        "from": settings.email_from,
        "to": [message.to],
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
        "tags": tags,
    }
    if headers:
        params["headers"] = headers
    if message.attachments:
        params["attachments"] = [
            {"filename": a["filename"], "content": a["content_base64"],
             "content_type": a.get("content_type") or "application/octet-stream"}
            for a in message.attachments
        ]  # fmt: skip
    return params


def configure_resend(settings: MailConfig) -> None:
    resend.api_key = settings.resend_api_key
    resend.api_url = settings.resend_api_url.rstrip("/")


def send(
    conn: psycopg.Connection | None,
    message: Message,
    idempotency_key: str,
    settings: MailConfig,
) -> str:
    """Deliver once per idempotency key; returns the provider's (or the mailbox's) id."""
    params = compose(message, settings)
    if settings.resend_api_key:
        return _resend_send(params, idempotency_key, settings)
    return store(conn, message, params, idempotency_key)


async def send_async(
    conn: psycopg.AsyncConnection | None,
    message: Message,
    idempotency_key: str,
    settings: MailConfig,
) -> str:
    """`send` on an event loop (the edge): Resend's SDK, which blocks, in the thread pool;
    the mailbox on the async connection."""
    params = compose(message, settings)
    if settings.resend_api_key:
        return await anyio.to_thread.run_sync(_resend_send, params, idempotency_key, settings)
    if conn is None:
        raise RuntimeError("the mailbox needs a database connection")
    row = await (
        await conn.execute(MAILBOX_INSERT, _mailbox_row(message, params, idempotency_key))
    ).fetchone()
    if row is None:
        row = await (await conn.execute(MAILBOX_EXISTING, (idempotency_key,))).fetchone()
    return f"mailbox-{row['id']}"


def _resend_send(params: dict[str, Any], idempotency_key: str, settings: MailConfig) -> str:
    configure_resend(settings)
    sent = resend.Emails.send(params, {"idempotency_key": idempotency_key})
    return str(sent["id"])


def send_batch(
    conn: psycopg.Connection | None,
    messages: list[Message],
    idempotency_key: str,
    settings: MailConfig,
) -> list[str]:
    """Deliver up to 100 messages in one call to Resend's batch API (`POST /emails/batch`,
    one idempotency key for the batch: a retried batch is not sent twice), or into the
    mailbox (one key per message, derived from the batch's). The ids, in order.
    Batch emails carry no attachments (Resend refuses them there)."""
    if not 1 <= len(messages) <= 100:
        raise ValueError("a batch holds 1 to 100 messages")
    if any(m.attachments for m in messages):
        raise ValueError("batch emails carry no attachments")
    params = [compose(m, settings) for m in messages]
    if settings.resend_api_key:
        configure_resend(settings)
        sent = resend.Batch.send(params, {"idempotency_key": idempotency_key})
        ids = [str(item["id"]) for item in sent["data"]]
        if len(ids) != len(messages):
            raise RuntimeError(f"Resend answered {len(ids)} ids for {len(messages)} emails")
        return ids
    return [
        store(conn, m, p, f"{idempotency_key}:{m.to.lower()}")
        for m, p in zip(messages, params, strict=True)
    ]


MAILBOX_INSERT = """
insert into ops.mailbox (idempotency_key, to_address, from_address, subject, html,
                         text_body, headers, tags, template, attachments)
values (%s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s::jsonb)
on conflict (idempotency_key) do nothing
returning id
"""
MAILBOX_EXISTING = "select id from ops.mailbox where idempotency_key = %s"


def _mailbox_row(message: Message, params: dict[str, Any], idempotency_key: str) -> tuple:
    return (
        idempotency_key,
        message.to,
        params["from"],
        params["subject"],
        params["html"],
        params["text"],
        json.dumps(params.get("headers", {})),
        json.dumps(params["tags"]),
        message.template,
        json.dumps(
            [
                {
                    "filename": a["filename"],
                    "content_type": a.get("content_type") or "application/octet-stream",
                    "size": len(base64.b64decode(a["content_base64"])),
                    "content_base64": a["content_base64"],
                }
                for a in message.attachments
            ]
        ),
    )


def store(
    conn: psycopg.Connection | None, message: Message, params: dict[str, Any], idempotency_key: str
) -> str:
    """The local mailbox (no RESEND_API_KEY): one row per idempotency key."""
    if conn is None:
        raise RuntimeError("the mailbox needs a database connection")
    row = conn.execute(MAILBOX_INSERT, _mailbox_row(message, params, idempotency_key)).fetchone()
    if row is None:
        row = conn.execute(MAILBOX_EXISTING, (idempotency_key,)).fetchone()
    return f"mailbox-{row['id']}"
