"""`newsletter.send`: one chunk (up to 100 recipients) of a campaign, in one batch call.

The campaign and the chunk's still-pending recipients come from
`private.events_newsletter_chunk` (which first marks addresses suppressed since the
campaign started); each recipient gets their own message (their own one-click unsubscribe
link, category `newsletter`) and the chunk goes to Resend's batch API under the key
`flagship-newsletter-<campaign>-<chunk>` — the same for every retry of the job, so a chunk
whose answer was lost is not sent twice. Outcomes are recorded per recipient with
`private.events_newsletter_sent`.
"""

from __future__ import annotations

import json
from typing import Any

from flagship.database import connect
from flagship.logs import logger
from mail import mailer
from sync.handlers import Handler, Job, handler
from sync.markup import render_markdown
from sync.settings import WorkerSettings

log = logger("sync.newsletter")


def messages(chunk: dict[str, Any]) -> list[mailer.Message]:
    html = chunk["body_html"] or render_markdown(chunk["body"])
    data = {
        "campaign_subject": chunk["subject"],
        "headline": chunk["headline"] or chunk["subject"],
        "content": chunk["body"],
        "content_html": html,
    }
    return [
        mailer.Message(
            template="newsletter",
            to=r["email"],
            data=data,
            category="newsletter",
            object_type="newsletter",
            object_id=str(chunk["campaign_id"]),
        )
        for r in chunk["recipients"]
    ]


class NewsletterSend:
    def __init__(self, settings: WorkerSettings) -> None:
        self.url = settings.database_url
        self.mail = settings.mail

    def __call__(self, job: Job) -> None:
        campaign, number = job.payload["campaign_id"], job.payload["chunk"]
        with connect(self.url, application_name="flagship-sync-newsletter") as conn:
            chunk = conn.execute(
                "select private.events_newsletter_chunk(%s, %s) as c", (campaign, number)
            ).fetchone()["c"]
            conn.commit()
            if chunk is None:
                log.info("newsletter cancelled or gone; chunk not sent", job_id=job.id)
                return
            batch = messages(chunk)
            results: list[dict[str, Any]] = []
            if batch:
                key = f"flagship-newsletter-{campaign}-{number}"
                ids = mailer.send_batch(conn, batch, key, self.mail)
                results = [
                    {"email": m.to, "status": "sent", "provider_id": i}
                    for m, i in zip(batch, ids, strict=True)
                ]
            conn.execute(
                "select private.events_newsletter_sent(%s, %s::jsonb)",
                (campaign, json.dumps(results)),
            )
            conn.commit()
        log.info("newsletter chunk sent", campaign_id=campaign, chunk=number, sent=len(results))


@handler("newsletter.send")
def newsletter_send(settings: WorkerSettings) -> Handler:
    return NewsletterSend(settings)
