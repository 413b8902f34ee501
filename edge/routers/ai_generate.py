"""Content generation for staff: `/functions/v1/ai/generate/quiz`, `/outline`, `/writeup`.

The caller's right is decided in SQL, as the caller: api.ai_generation_context answers only
the course team (owners, co-instructors) of the lesson's or course's course, or the
organisers of the challenge's event, and hands out public text only (never flags, hints,
answer keys). Then the language model writes the draft (ai.generation checks its shape),
and the draft is kept with its model and provenance (private.ai_save_draft, service_role:
callers cannot forge provenance). Nothing is published: a quiz draft enters a quiz only
when a person calls api.ai_apply_draft. Without a language model: 503 `ai_unavailable`,
after the rights check and before anything is spent or stored.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ai.generation import GenerationError, generate
from ai.provider import AIUnavailable, ProviderError
from edge.auth.deps import Caller, CurrentCaller, as_caller
from edge.db import Database
from edge.deps import Db
from edge.errors import ApiError, ErrorBody
from edge.routers.assistant import SERVICE, unavailable, usage_recorder

router = APIRouter(prefix="/ai/generate", tags=["ai"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "invalid_argument, ai_request_too_large"},
    401: {"model": ErrorBody, "description": "not_authenticated"},
    403: {"model": ErrorBody, "description": "forbidden / ctf_not_organiser (not staff of it)"},
    404: {"model": ErrorBody, "description": "learning_lesson_not_found, ..._not_found"},
    429: {"model": ErrorBody, "description": "rate_limited, ai_quota_exceeded"},
    503: {
        "model": ErrorBody,
        "description": "ai_unavailable (no language model), ai_provider_error",
    },
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuizRequest(Strict):
    lesson_id: UUID
    count: int = Field(default=3, ge=1, le=10)


class OutlineRequest(Strict):
    course_id: UUID
    brief: str = Field(default="", max_length=2000)


class WriteupRequest(Strict):
    challenge_id: UUID
    notes: str = Field(default="", max_length=4000)


class DraftResponse(BaseModel):
    draft_id: UUID
    kind: str
    status: str = "draft"
    model: str
    provenance: dict[str, Any]
    content: dict[str, Any]


async def run(
    request: Request, caller: Caller, db: Database, kind: str, target: UUID, **options: Any
) -> DraftResponse:
    async with as_caller(request, caller, db) as conn:
        cursor = await conn.execute(
            "select api.ai_generation_context(%s, %s) as c", (kind, str(target))
        )
        context = (await cursor.fetchone())["c"]
    provider = request.app.state.ai
    if not provider.can_chat:
        raise unavailable()
    extra = sum(len(str(v)) for v in options.values())
    async with as_caller(request, caller, db) as conn:
        await conn.execute(
            "select private.ai_admit(%s, %s)", (f"generate.{kind}", len(context["text"]) + extra)
        )
    try:
        # The model call blocks: the thread pool.
        draft = await run_in_threadpool(
            generate, provider, context, recorder=usage_recorder(db, caller.user_id), **options
        )
    except AIUnavailable as exc:
        raise unavailable() from exc
    except ProviderError as exc:
        raise ApiError(503, "ai_provider_error", "The language model failed; try again.") from exc
    except GenerationError as exc:
        raise ApiError(
            503, "ai_provider_error", f"The model's draft could not be used: {exc}"
        ) from exc
    async with db.caller(SERVICE, path=request.url.path) as conn:
        cursor = await conn.execute(
            "select private.ai_save_draft(%s, %s::jsonb, %s::jsonb, %s, %s::jsonb) as id",
            (
                caller.user_id,
                json.dumps(context, default=str),
                json.dumps(draft.content),
                draft.model,
                json.dumps(draft.provenance),
            ),
        )
        draft_id = (await cursor.fetchone())["id"]
    return DraftResponse(
        draft_id=draft_id,
        kind=kind,
        model=draft.model,
        provenance=draft.provenance,
        content=draft.content,
    )


@router.post("/quiz", status_code=201, responses=ERRORS, summary="Draft quiz questions")
async def quiz(body: QuizRequest, request: Request, caller: CurrentCaller, db: Db) -> DraftResponse:
    """Multiple-choice questions (distractors, explanations) from a lesson you teach, kept as
    a draft; `api.ai_apply_draft(draft_id, quiz_id)` adds them to a quiz of the course."""
    return await run(request, caller, db, "quiz_questions", body.lesson_id, count=body.count)


@router.post("/outline", status_code=201, responses=ERRORS, summary="Draft a course outline")
async def outline(
    body: OutlineRequest, request: Request, caller: CurrentCaller, db: Db
) -> DraftResponse:
    """Modules and lessons for a course you teach, from its description and your brief."""
    return await run(request, caller, db, "course_outline", body.course_id, brief=body.brief)


@router.post("/writeup", status_code=201, responses=ERRORS, summary="Draft a challenge write-up")
async def writeup(
    body: WriteupRequest, request: Request, caller: CurrentCaller, db: Db
) -> DraftResponse:
    """A Markdown write-up of a challenge of an event you organise, from its public
    description and your notes (the flag is never given to the model)."""
    return await run(request, caller, db, "challenge_writeup", body.challenge_id, notes=body.notes)
