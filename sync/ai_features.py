"""AI jobs for the worker: sentiment of reviews and feedback, moderation assist.

`ai.sentiment_requested` scores the item's *current* text with VADER and records it with
the text's digest, so a job for an older version of an edited text records nothing (the
edit queued its own job). `ai.moderation_requested` does the same for posts and messages
with the moderation scorer and lets the database decide whether it becomes a system flag.
Both are idempotent: recording is an upsert keyed by the item.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from ai import moderation
from ai.nlp import sentiment
from ai.provider import db_recorder, make_provider
from ai.settings import AISettings
from flagship.database import connect
from flagship.logs import logger
from sync.handlers import Handler, Job, handler
from sync.settings import WorkerSettings

log = logger("sync.ai")

SENTIMENT_MODEL = "vader-3.3.2+domain"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_sentiment(conn, payload: dict) -> bool | None:
    """Score the item's current text and record it (in conn's transaction); None when gone."""
    body = json.dumps(payload)
    text = conn.execute("select private.ai_sentiment_text(%s::jsonb) as t", (body,)).fetchone()
    if text["t"] is None:
        return None
    score = sentiment(text["t"]).as_dict() | {"model": SENTIMENT_MODEL}
    return conn.execute(
        "select private.ai_record_sentiment(%s::jsonb, %s::jsonb, %s) as kept",
        (body, json.dumps(score), digest(text["t"])),
    ).fetchone()["kept"]


# text → {score, categories, top_category, source, model}
Moderator = Callable[[str], dict]


local_moderator: Moderator = moderation.local


def provider_moderator(settings: AISettings, database_url: str) -> Moderator:
    """OpenAI moderation when OPENAI_API_KEY is set (usage recorded, no user), else local."""
    if not settings.llm:
        return local_moderator
    provider = make_provider(settings, db_recorder(lambda: connect(database_url), None))
    return lambda text: moderation.moderate(text, provider)


def record_moderation(conn, payload: dict, moderator: Moderator) -> dict | None:
    """Score a post or message and record it (a system flag at the threshold); None if gone."""
    kind, target = payload["target_type"], int(payload["target_id"])
    row = conn.execute("select private.ai_moderation_text(%s, %s) as t", (kind, target))
    text = row.fetchone()["t"]
    if text is None:
        return None
    result = moderator(text)
    outcome = conn.execute(
        "select private.ai_record_moderation(%s, %s, %s::jsonb, %s) as r",
        (kind, target, json.dumps(result), digest(text)),
    ).fetchone()["r"]
    return outcome | {"score": result["score"], "source": result["source"]}


class SentimentJob:
    """`ai.sentiment_requested` → private.ai_record_sentiment."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, job: Job) -> None:
        with connect(self.url, application_name="flagship-sync-ai") as conn:
            kept = record_sentiment(conn, job.payload)
            conn.commit()
        log.info("sentiment scored", job_id=job.id, kept=kept)


class ModerationJob:
    """`ai.moderation_requested` → private.ai_record_moderation (system flag at threshold)."""

    def __init__(self, url: str, moderator: Moderator) -> None:
        self.url = url
        self.moderator = moderator

    def __call__(self, job: Job) -> None:
        with connect(self.url, application_name="flagship-sync-ai") as conn:
            outcome = record_moderation(conn, job.payload, self.moderator)
            conn.commit()
        log.info("moderation scored", job_id=job.id, outcome=outcome)


@handler("ai.sentiment_requested")
def sentiment_requested(settings: WorkerSettings) -> Handler:
    return SentimentJob(settings.database_url)


@handler("ai.moderation_requested")
def moderation_requested(settings: WorkerSettings) -> Handler:
    return ModerationJob(
        settings.database_url, provider_moderator(AISettings.from_env(), settings.database_url)
    )
