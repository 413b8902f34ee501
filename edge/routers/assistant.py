"""The assistant: `POST /functions/v1/assistant`, streamed over server-sent events.

Everything the answer is built from is read as the caller (flagship.database.as_caller):
the quota check (private.ai_admit), the conversation (theirs only), retrieval
(api.ai_search under the sources' own rules) or, in `ctf_hint` mode, the challenge's public
description and the hints released to them (private.ai_hint_context). The model's text is
released segment by segment only after the output guard (private.ai_guard_output, as the
caller) has checked the whole answer so far. Without a language model (no OPENAI_API_KEY)
the route answers 503 `ai_unavailable` before it changes anything.

SSE events: `meta` {conversation_id, citations}, `token` {text} (repeated), then `done`
{message_id, citations} or `refused` {code, message} or `error` {code, message}.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal
from uuid import UUID

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ai import assistant as core
from ai.provider import (
    RECORD_USAGE_SQL,
    AIUnavailable,
    ProviderError,
    Recorder,
    Usage,
    usage_params,
)
from edge.auth.deps import Caller, CurrentCaller, as_caller
from edge.db import Database
from edge.deps import Db
from edge.errors import ApiError, ErrorBody
from flagship.logs import logger

log = logger("edge.assistant")
router = APIRouter(tags=["ai"])
PATH = "/functions/v1/assistant"
SERVICE = {"role": "service_role"}
MAX_MESSAGE_CHARS = 20000  # hard cap; the plan's own limit (ai.quotas) is checked in SQL
SOURCES = 6
SEARCH_CHARS = 2000  # api.ai_search takes at most this much of the question
HISTORY = 6


class AssistantRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    conversation_id: UUID | None = None
    mode: Literal["assistant", "ctf_hint"] = "assistant"
    challenge_id: UUID | None = Field(default=None, description="Required in ctf_hint mode")
    stream: bool = True


class AssistantAnswer(BaseModel):
    conversation_id: UUID
    message_id: int
    answer: str
    refused: bool
    citations: list[dict[str, Any]]


def unavailable() -> ApiError:
    return ApiError(
        503,
        "ai_unavailable",
        "The assistant needs a language model and none is configured on this deployment "
        "(set OPENAI_API_KEY, or OPENAI_BASE_URL for a compatible server). Search "
        "(api.ai_search) works without one.",
    )


async def record_usage(db: Database, user_id: str | None, usage: Usage) -> None:
    """One provider call → ai.usage (service_role: callers cannot write usage rows)."""
    async with db.caller(SERVICE, path=PATH) as conn:
        await conn.execute(RECORD_USAGE_SQL, usage_params(user_id, usage))


def usage_recorder(db: Database, user_id: str | None) -> Recorder:
    """The providers' recorder: they run in the thread pool (the model calls block), and
    each usage row is written on the event loop's pool (`anyio.from_thread`)."""

    def record(usage: Usage) -> None:
        anyio.from_thread.run(record_usage, db, user_id, usage)

    return record


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


class Turn:
    """One question and its answer, for one caller."""

    def __init__(self, request: Request, caller: Caller, db: Database, body: AssistantRequest):
        self.request, self.caller, self.db, self.body = request, caller, db, body
        self.provider = request.app.state.ai
        self.record = usage_recorder(db, caller.user_id)
        self.sources: list[core.Source] = []
        self.conversation_id = ""

    async def prepare(self) -> list[dict[str, str]]:
        """Admit, open the conversation, gather what the caller may read, store the
        question; returns the model's messages."""
        body, hint = self.body, self.body.mode == "ctf_hint"
        vector = None
        if not hint:
            [vector] = await run_in_threadpool(
                self.provider.embed,
                [body.message],
                operation="assistant_query",
                recorder=self.record,
            )
        async with as_caller(self.request, self.caller, self.db) as conn:
            await conn.execute("select private.ai_admit('assistant', %s)", (len(body.message),))
            cursor = await conn.execute(
                "select private.ai_open_conversation(%s, %s, %s) as id",
                (body.conversation_id, body.mode, body.challenge_id),
            )
            self.conversation_id = (await cursor.fetchone())["id"]
            if hint:
                cursor = await conn.execute(
                    "select private.ai_hint_context(%s) as ctx", (body.challenge_id,)
                )
                self.sources = core.sources_from_hint_context((await cursor.fetchone())["ctx"])
            else:
                cursor = await conn.execute(
                    "select * from api.ai_search(%s, %s::real[], %s, null, %s)",
                    (body.message[:SEARCH_CHARS], vector, self.provider.embedding_model, SOURCES),
                )
                self.sources = core.sources_from_search(await cursor.fetchall())
            cursor = await conn.execute(
                "select role, content from (select id, role, content from ai.messages"
                " where conversation_id = %s and not refused order by id desc limit %s) as h"
                " order by id",
                (self.conversation_id, HISTORY),
            )
            history = await cursor.fetchall()
            await conn.execute(
                "select private.ai_add_message(%s, 'user', %s, '[]', false, null)",
                (self.conversation_id, body.message),
            )
        return core.build_messages(body.message, self.sources, history, hint_mode=hint)

    async def check(self, text: str) -> dict[str, Any]:
        async with as_caller(self.request, self.caller, self.db) as conn:
            cursor = await conn.execute("select private.ai_guard_output(%s) as v", (text,))
            return (await cursor.fetchone())["v"]

    def check_blocking(self, text: str) -> dict[str, Any]:
        """The guard for `core.guarded_stream`, which runs in the thread pool."""
        return anyio.from_thread.run(self.check, text)

    async def store(self, content: str, citations: list[dict[str, Any]], refused: bool) -> int:
        async with as_caller(self.request, self.caller, self.db) as conn:
            cursor = await conn.execute(
                "select private.ai_add_message(%s, 'assistant', %s, %s::jsonb, %s, %s) as id",
                (
                    self.conversation_id,
                    content,
                    json.dumps(citations),
                    refused,
                    self.provider.chat_model,
                ),
            )
            return (await cursor.fetchone())["id"]

    def guarded(self, messages: list[dict[str, str]]) -> Iterator[core.Event]:
        """The model's stream through the output guard (blocking: run in the thread pool)."""
        tokens = self.provider.chat_stream(messages, operation="assistant", recorder=self.record)
        yield from core.guarded_stream(tokens, self.check_blocking)

    async def events(self, messages: list[dict[str, str]]) -> AsyncIterator[core.Event]:
        """The guarded answer as events; the answer (or the refusal notice) is stored."""
        try:
            async for event in iterate_in_threadpool(self.guarded(messages)):
                if event.kind == "token":
                    yield event
                elif event.kind == "refused":
                    message_id = await self.store(core.REFUSAL, [], True)
                    log.warning(
                        "assistant answer refused",
                        reasons=event.data["reasons"],
                        conversation_id=str(self.conversation_id),
                    )
                    yield core.Event(
                        "refused",
                        {
                            "code": "ai_output_refused",
                            "message": core.REFUSAL,
                            "message_id": message_id,
                        },
                    )
                else:
                    citations = core.citations_for(event.data["text"], self.sources)
                    message_id = await self.store(event.data["text"], citations, False)
                    yield core.Event(
                        "done",
                        {
                            "message_id": message_id,
                            "citations": citations,
                            "text": event.data["text"],
                        },
                    )
        except (ProviderError, AIUnavailable):
            yield core.Event(
                "error",
                {
                    "code": "ai_provider_error",
                    "message": "The language model did not answer; try again.",
                },
            )


@router.post(
    "/assistant",
    response_model=AssistantAnswer,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "SSE stream (stream=true) or the whole answer (stream=false)",
        },
        401: {"model": ErrorBody},
        400: {"model": ErrorBody},
        404: {"model": ErrorBody},
        429: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
async def assistant(body: AssistantRequest, request: Request, caller: CurrentCaller, db: Db):
    """Ask the assistant (retrieval-augmented, cited) or, with mode=ctf_hint, get a Socratic
    nudge for a challenge. Quotas per plan apply (api.ai_get_my_quota)."""
    if not request.app.state.ai.can_chat:
        raise unavailable()
    turn = Turn(request, caller, db, body)
    messages = await turn.prepare()
    meta = {
        "conversation_id": str(turn.conversation_id),
        "citations": [s.citation() for s in turn.sources],
    }
    if not body.stream:
        return await whole_answer(turn, messages)

    async def stream() -> AsyncIterator[str]:
        yield sse("meta", meta)
        try:
            async for event in turn.events(messages):
                data = (
                    event.data
                    if event.kind != "done"
                    else {k: v for k, v in event.data.items() if k != "text"}
                )
                yield sse(event.kind, data)
        except Exception as exc:  # the status line is sent: the stream itself says it failed
            log.error("assistant stream failed", error=type(exc).__name__)
            yield sse("error", {"code": "internal_error", "message": "The answer failed."})

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def whole_answer(turn: Turn, messages: list[dict[str, str]]) -> AssistantAnswer:
    text, refused, message_id, citations = "", False, 0, []
    async for event in turn.events(messages):
        if event.kind == "token":
            text += event.data["text"]
        elif event.kind == "refused":
            text, refused, message_id = core.REFUSAL, True, event.data["message_id"]
        elif event.kind == "done":
            message_id, citations = event.data["message_id"], event.data["citations"]
        else:
            raise ApiError(503, event.data["code"], event.data["message"])
    return AssistantAnswer(
        conversation_id=turn.conversation_id,
        message_id=message_id,
        answer=text,
        refused=refused,
        citations=citations,
    )
