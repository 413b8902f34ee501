"""Email delivery for the worker: `email.send` jobs (and the ones that imply an email).

Payload of `email.send`: {template, to | user_id, data, category, object: {type, id}}.
The recipient and permission come from `private.email_route` (contact email, suppressions,
user opt-outs); a refused email is acknowledged with a log line, not retried. The send
carries the job's idempotency key, so a job retried after a crash — even one killed while
Resend was answering — is delivered once.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import psycopg

from flagship.database import connect
from flagship.logs import logger
from mail import mailer
from mail.catalog import KINDS
from mail.settings import MailConfig
from sync.handlers import Handler, Job, Unrecoverable, handler
from sync.settings import WorkerSettings

log = logger("sync.email")


class InvalidEmailJob(Unrecoverable, ValueError):
    """The payload can never be delivered (unknown template, no recipient field)."""


ATTACHMENT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # all attachments together; Resend allows 40 MB


def attachments(payload: dict[str, Any]) -> list[dict[str, str]]:
    """The job's attachments, checked: plain file names, valid base64, bounded size."""
    items = payload.get("attachments") or []
    if not isinstance(items, list):
        raise InvalidEmailJob("attachments is not a list")
    total = 0
    checked = []
    for item in items:
        if not isinstance(item, dict) or not ATTACHMENT_NAME.match(str(item.get("filename"))):
            raise InvalidEmailJob("an attachment needs a plain file name")
        try:
            total += len(base64.b64decode(item.get("content_base64") or "", validate=True))
        except (binascii.Error, ValueError) as exc:
            raise InvalidEmailJob(f"attachment {item['filename']}: not base64") from exc
        checked.append(
            {
                "filename": item["filename"],
                "content_type": str(item.get("content_type") or "application/octet-stream"),
                "content_base64": item["content_base64"],
            }
        )
    if total > MAX_ATTACHMENT_BYTES:
        raise InvalidEmailJob("attachments exceed 10 MB")
    return checked


def send_routed(
    conn: psycopg.Connection,
    settings: MailConfig,
    idempotency_key: str,
    *,
    template: str,
    to: str | None = None,
    user_id: str | None = None,
    category: str | None = None,
    data: dict[str, Any] | None = None,
    obj: dict[str, Any] | None = None,
    files: list[dict[str, str]] | None = None,
) -> str | None:
    """Route (private.email_route: recipient, suppressions, opt-outs) and send one email in
    the caller's transaction; the provider's id, or None when the route refuses it."""
    if template not in KINDS:
        raise InvalidEmailJob(f"unknown template {template!r}")
    category = category or KINDS[template].category
    obj = obj or {}
    route = conn.execute(
        "select private.email_route(%s, %s::uuid, %s) as r", (to, user_id, category)
    ).fetchone()["r"]
    if not route.get("send"):
        log.info("email not sent", template=template, reason=route.get("reason"),
                 idempotency_key=idempotency_key)  # fmt: skip
        return None
    data = dict(data or {})
    if template == "verify_email" and "token" in data:
        data["action_url"] = f"{settings.site_url}/account/verify-email?token={data['token']}"
        data["action_label"] = "Confirm this address"
    message = mailer.Message(
        template=template,
        to=route["to"],
        data=data,
        category=category,
        object_type=obj.get("type"),
        object_id=str(obj.get("id")) if obj.get("id") is not None else None,
        attachments=files or [],
    )
    return mailer.send(conn, message, idempotency_key, settings)


class EmailDelivery:
    def __init__(self, url: str, settings: MailConfig) -> None:
        self.url = url
        self.settings = settings

    def __call__(self, job: Job) -> None:
        payload: dict[str, Any] = job.payload
        template = payload.get("template")
        if template not in KINDS:
            raise InvalidEmailJob(f"unknown template {template!r}")
        if not payload.get("to") and not payload.get("user_id"):
            raise InvalidEmailJob("neither 'to' nor 'user_id'")
        files = attachments(payload)
        with connect(self.url, application_name="flagship-sync-email") as conn:
            sent = send_routed(
                conn, self.settings, job.idempotency_key, template=template,
                to=payload.get("to"), user_id=payload.get("user_id"),
                category=payload.get("category"), data=payload.get("data"),
                obj=payload.get("object"), files=files,
            )  # fmt: skip
            conn.commit()
        log.info("email sent" if sent else "email refused", job_id=job.id, template=template,
                 sent=sent)  # fmt: skip


@handler("email.send")
def email_send(settings: WorkerSettings) -> Handler:
    """`accounts.user_deleted` needs no handler: the goodbye email is queued by a trigger
    while the address still exists (see the edge_email migration)."""
    return EmailDelivery(settings.database_url, settings.mail)
