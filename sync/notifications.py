"""Notification email: one email per notification (instant) and the digest of unread ones.

`community.notification_email` is queued by `private.notify` when the member chose
`immediate` email for the notification's category; `community.notification_digest` by the
`community.enqueue_digests` schedule for `digest` (daily) and `weekly` rows. Both re-read
the rows when they run: a notification read (or a preference switched) since is not
emailed. Moderation outcomes (moderation.*, contribution.*, appeal) use the
`moderation_outcome` template; everything else `notification`, whose category is the
notification's category, so its one-click unsubscribe leaves only that category.
"""

from __future__ import annotations

from typing import Any

from flagship.database import connect
from flagship.logs import logger
from mail.settings import MailConfig
from sync.email import send_routed
from sync.handlers import Handler, Job, handler
from sync.settings import WorkerSettings

log = logger("sync.notifications")
MODERATION_KINDS = ("moderation.", "contribution.", "appeal")


def _who(n: dict[str, Any]) -> str:
    names = [x for x in n.get("actor_names") or [] if x]
    if not names:
        return "Someone"
    others = max(0, (n.get("actor_count") or len(names)) - 1)
    return names[0] + (f" and {others} other{'s' if others > 1 else ''}" if others else "")


def _title(n: dict[str, Any]) -> str:
    title = (n.get("data") or {}).get("title")
    return f"“{title}”" if title else "your post"


def link(site: str, n: dict[str, Any]) -> str:
    data = n.get("data") or {}
    if n.get("object_type") == "post" and data.get("thread_id"):
        return f"{site}/forum/threads/{data['thread_id']}#post-{data.get('post_number', '')}"
    if n.get("object_type") == "conversation":
        return f"{site}/messages/{n['object_id']}"
    if n["kind"].startswith("ctf.") and data.get("event_id"):
        return f"{site}/ctf/events/{data['event_id']}"
    if n["kind"].startswith("course."):
        return f"{site}/courses/{n.get('object_id', '')}"
    return f"{site}/notifications"


def describe(n: dict[str, Any]) -> str:
    """One line for a notification, as the in-app list would show it."""
    kind, who, title = n["kind"], _who(n), _title(n)
    data = n.get("data") or {}
    phrases = {
        "reply": f"{who} replied to {title}",
        "quote": f"{who} quoted you in {title}",
        "mention": f"{who} mentioned you in {title}",
        "posted": f"{who} posted in {title}",
        "thread_created": f"{who} started {title}",
        "solved": f"Your answer in {title} was marked as the solution",
        "reaction": f"{who} reacted to your post in {title}",
        "message": f"{who} sent you a message",
        "appeal": "Your appeal was " + ("granted" if data.get("granted") else "denied"),
        "course.completed": f"You completed {title}",
        "ctf.first_blood": f"First blood! Your team was first to solve {title}",
        "ctf.flag_shared": f"Suspected flag sharing on {title}: review the sharing reports",
    }
    if kind in phrases:
        return phrases[kind]
    if kind.startswith("moderation."):
        return f"A moderator acted on your content: {kind.split('.', 1)[1].replace('_', ' ')}"
    if kind.startswith("contribution."):
        return f"Your contribution {title} was {kind.split('.', 1)[1].replace('_', ' ')}"
    return f"{kind.replace('.', ' ').replace('_', ' ').capitalize()}: {title}"


def email_for(settings: MailConfig, n: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(template, category, data) of the instant email about notification `n`."""
    data = n.get("data") or {}
    url = link(settings.site_url, n)
    if n["kind"].startswith(MODERATION_KINDS):
        outcome = n["kind"].split(".", 1)[-1].replace("_", " ")
        if n["kind"] == "appeal":
            outcome = "appeal granted" if data.get("granted") else "appeal denied"
        return (
            "moderation_outcome",
            "account",
            {
                "object_label": f"“{data['title']}”" if data.get("title") else None,
                "outcome": outcome,
                "reason": data.get("reason") or data.get("comment") or data.get("note"),
                "action_url": url,
            },
        )
    return (
        "notification",
        n["category"],
        {
            "headline": describe(n),
            "detail": data.get("excerpt"),
            "action_url": url,
            "action_label": "Open Flagship",
        },
    )


class NotificationEmail:
    def __init__(self, settings: WorkerSettings) -> None:
        self.url = settings.database_url
        self.mail = settings.mail

    def __call__(self, job: Job) -> None:
        with connect(self.url, application_name="flagship-sync-notifications") as conn:
            n = conn.execute(
                "select private.events_notification_message(%s) as n",
                (job.payload["notification_id"],),
            ).fetchone()["n"]
            if n is None:
                log.info("notification read or gone; not emailed", job_id=job.id)
                return
            if n["email"] != "immediate":
                log.info("instant email switched off since", job_id=job.id, now=n["email"])
                return
            template, category, data = email_for(self.mail, n)
            sent = send_routed(
                conn, self.mail, job.idempotency_key, template=template,
                user_id=n["user_id"], category=category, data=data,
                obj={"type": "notification", "id": n["id"]},
            )  # fmt: skip
            conn.commit()
        log.info("notification emailed", job_id=job.id, template=template, sent=sent)


class DigestEmail:
    def __init__(self, settings: WorkerSettings) -> None:
        self.url = settings.database_url
        self.mail = settings.mail

    def __call__(self, job: Job) -> None:
        p = job.payload
        with connect(self.url, application_name="flagship-sync-notifications") as conn:
            items = conn.execute(
                "select private.events_digest_messages(%s, %s) as items",
                (p["user_id"], p["notification_ids"]),
            ).fetchone()["items"]
            if not items:
                log.info("digest: everything read since; not emailed", job_id=job.id)
                return
            weekly = p.get("frequency") == "weekly"
            data = {
                "items": [describe(n) for n in items],
                "frequency": "weekly" if weekly else "daily",
                "action_url": f"{self.mail.site_url}/notifications",
                "action_label": "See all notifications",
            }
            sent = send_routed(
                conn, self.mail, job.idempotency_key, template="notification_digest",
                user_id=p["user_id"], data=data, obj={"type": "digest", "id": job.id},
            )  # fmt: skip
            conn.commit()
        log.info("digest emailed", job_id=job.id, items=len(items), sent=sent)


@handler("community.notification_email")
def notification_email(settings: WorkerSettings) -> Handler:
    return NotificationEmail(settings)


@handler("community.notification_digest")
def notification_digest(settings: WorkerSettings) -> Handler:
    return DigestEmail(settings)
