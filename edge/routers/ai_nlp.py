"""NLP endpoints: `/functions/v1/ai/summarize`, `/ai/keywords`, `/ai/language`, `/ai/search`.

Every route reads its source *as the caller* (flagship.database.as_caller), so what may be
summarised or tagged is what the caller may read anyway: a thread's posts through
api.community_forum_posts, a lesson through api.learning_get_lesson (enrollment, plan and
locks apply), a contribution through api.community_contributions; search is
api.ai_search, the hybrid retrieval of the AI index under the sources' own rules. Each
call first passes private.ai_admit (signed in, the plan's input size, per-minute rate,
daily quota) and is recorded in ai.usage. The NLP itself is local and offline (ai.nlp):
no language model is needed, so these routes work on the embedded default.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from ai.nlp import detect_language, keywords, summarize, tags
from ai.provider import ProviderError, Usage
from edge.auth.deps import Caller, CurrentCaller, as_caller
from edge.db import Database
from edge.deps import Db
from edge.errors import ApiError, ErrorBody
from edge.routers.assistant import record_usage, usage_recorder

router = APIRouter(prefix="/ai", tags=["ai"])
MAX_TEXT = 50_000  # hard cap; the plan's own limit (ai.quotas.max_input_chars) is checked in SQL
LOCAL_MODEL = "local-extractive"
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "invalid_argument, ai_request_too_large"},
    401: {"model": ErrorBody, "description": "not_authenticated"},
    404: {"model": ErrorBody, "description": "not_found (or the source's own *_not_found)"},
    429: {"model": ErrorBody, "description": "rate_limited, ai_quota_exceeded"},
}
SEARCH_KINDS = {"course": "lesson", "challenge": "challenge", "forum": "forum_post", "doc": "doc"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def one_source(model: BaseModel, names: tuple[str, ...]) -> None:
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of {', '.join(names)}")


class SummarizeRequest(Strict):
    thread_id: int | None = Field(default=None, ge=1)
    lesson_id: UUID | None = None
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    sentences: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def exactly_one(self) -> SummarizeRequest:
        one_source(self, ("thread_id", "lesson_id", "text"))
        return self


class SummaryResponse(BaseModel):
    summary: str
    sentences: list[str]
    total_sentences: int
    method: str = "textrank"


class KeywordsRequest(Strict):
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    post_id: int | None = Field(default=None, ge=1)
    contribution_id: int | None = Field(default=None, ge=1)
    top: int = Field(default=8, ge=1, le=20)

    @model_validator(mode="after")
    def exactly_one(self) -> KeywordsRequest:
        one_source(self, ("text", "post_id", "contribution_id"))
        return self


class KeywordsResponse(BaseModel):
    keywords: list[dict[str, Any]]
    tags: list[str]
    language: str


class LanguageRequest(Strict):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class LanguageResponse(BaseModel):
    language: str
    probability: float
    alternatives: list[dict[str, Any]]


class SearchRequest(Strict):
    q: str = Field(min_length=1, max_length=500)
    kinds: list[Literal["course", "challenge", "forum", "doc"]] | None = Field(
        default=None, max_length=4
    )
    limit: int = Field(default=10, ge=1, le=20)


class SearchResponse(BaseModel):
    results: list[dict[str, Any]]
    mode: str  # hybrid (full text + vectors) or full_text


async def admit(request: Request, caller: Caller, db: Database, operation: str, chars: int) -> None:
    """Run private.ai_admit as the caller in its own short transaction."""
    async with as_caller(request, caller, db) as conn:
        await conn.execute("select private.ai_admit(%s, %s)", (operation, chars))


async def record_local(db: Database, caller: Caller, operation: str) -> None:
    await record_usage(db, caller.user_id, Usage(operation, "local", LOCAL_MODEL))


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"No such {what}, or you may not read it.")


@router.post("/summarize", responses=ERRORS, summary="Summarise a thread, a lesson or a text")
async def summarize_route(
    body: SummarizeRequest, request: Request, caller: CurrentCaller, db: Db
) -> SummaryResponse:
    """Extractive summary (TextRank): the most central sentences, in their original order.
    A thread or a lesson is read as the caller; what they may not read is not found."""
    text = body.text
    async with as_caller(request, caller, db) as conn:
        if body.thread_id is not None:
            cursor = await conn.execute(
                "select body from api.community_forum_posts where thread_id = %s"
                " and not deleted order by post_number limit 500",
                (body.thread_id,),
            )
            rows = await cursor.fetchall()
            if not rows:
                raise not_found("thread")
            text = "\n\n".join(r["body"] for r in rows)
        elif body.lesson_id is not None:
            cursor = await conn.execute(
                "select api.learning_get_lesson(%s) as l", (str(body.lesson_id),)
            )
            lesson = (await cursor.fetchone())["l"]
            text = "\n\n".join(x for x in (lesson.get("title"), lesson.get("body_md")) if x)
        await conn.execute("select private.ai_admit('summarize', %s)", (len(text or ""),))
    # The models run in the thread pool: they hold the CPU, the event loop must not wait.
    result = await run_in_threadpool(summarize, text or "", sentences=body.sentences)
    await record_local(db, caller, "summarize")
    return SummaryResponse(
        summary=result.text, sentences=result.sentences, total_sentences=result.total_sentences
    )


@router.post("/keywords", responses=ERRORS, summary="Keywords and tags of a text or a post")
async def keywords_route(
    body: KeywordsRequest, request: Request, caller: CurrentCaller, db: Db
) -> KeywordsResponse:
    """YAKE key phrases (lower score = more relevant) and tag slugs, in the text's language.
    A post or a contribution is read as the caller."""
    text = body.text
    async with as_caller(request, caller, db) as conn:
        if body.post_id is not None:
            cursor = await conn.execute(
                "select body from api.community_forum_posts where id = %s and not deleted",
                (body.post_id,),
            )
            row = await cursor.fetchone()
            if row is None:
                raise not_found("post")
            text = row["body"]
        elif body.contribution_id is not None:
            cursor = await conn.execute(
                "select title, body from api.community_contributions where id = %s",
                (body.contribution_id,),
            )
            row = await cursor.fetchone()
            if row is None:
                raise not_found("contribution")
            text = f"{row['title']}\n\n{row['body']}"
        await conn.execute("select private.ai_admit('keywords', %s)", (len(text or ""),))
    answer = await run_in_threadpool(_keywords, text or "", body.top)
    await record_local(db, caller, "keywords")
    return answer


def _keywords(text: str, top: int) -> KeywordsResponse:
    language = detect_language(text).code
    found = keywords(text, top=top, language=language)
    return KeywordsResponse(
        keywords=[{"phrase": k.phrase, "score": k.score} for k in found],
        tags=tags(text, top=min(top, 8), language=language),
        language=language,
    )


@router.post("/language", responses=ERRORS, summary="Detect the language of a text")
async def language_route(
    body: LanguageRequest, request: Request, caller: CurrentCaller, db: Db
) -> LanguageResponse:
    """ISO 639-1 code and probability (`und` for texts too short to tell)."""
    await admit(request, caller, db, "language", len(body.text))
    found = await run_in_threadpool(detect_language, body.text)
    await record_local(db, caller, "language")
    return LanguageResponse(
        language=found.code,
        probability=found.probability,
        alternatives=[{"language": c, "probability": p} for c, p in found.alternatives],
    )


@router.post("/search", responses=ERRORS, summary="Semantic search: courses, challenges, forum")
async def search_route(
    body: SearchRequest, request: Request, caller: CurrentCaller, db: Db
) -> SearchResponse:
    """Hybrid search (full text + vector similarity, fused by reciprocal rank) over what the
    caller may read: lessons of their courses, open challenges, forum posts, docs."""
    await admit(request, caller, db, "search", len(body.q))
    provider = request.app.state.ai
    record = usage_recorder(db, caller.user_id)
    try:
        [vector] = await run_in_threadpool(
            provider.embed, [body.q], operation="search", recorder=record
        )
    except ProviderError:
        vector = None  # the full-text half still answers
    kinds = sorted({SEARCH_KINDS[k] for k in body.kinds}) if body.kinds else None
    async with as_caller(request, caller, db) as conn:
        cursor = await conn.execute(
            "select * from api.ai_search(%s, %s::real[], %s, %s::text[], %s)",
            (body.q, vector, provider.embedding_model, kinds, body.limit),
        )
        rows = await cursor.fetchall()
    reverse = {v: k for k, v in SEARCH_KINDS.items()}
    hybrid = vector is not None and any(r["vector_rank"] for r in rows)
    return SearchResponse(
        results=[
            {
                "kind": reverse.get(r["source_kind"], r["source_kind"]),
                "source_kind": r["source_kind"],
                "source_id": r["source_id"],
                "title": r["title"],
                "snippet": r["content"][:300],
                "score": r["score"],
            }
            for r in rows
        ],
        mode="hybrid" if hybrid else "full_text",
    )
