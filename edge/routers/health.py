"""Probes for orchestrators and `flagship up`: liveness without the database, readiness with.

Readiness means the database answers *and* carries every migration this code ships with:
an edge newer than its schema would call functions that do not exist yet. The answer is
cached for EDGE_READY_CACHE_SECONDS (1 s), so a flood of probes costs one query a second.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import psycopg
from fastapi import APIRouter
from psycopg_pool import PoolTimeout
from pydantic import BaseModel

from edge.db import connection_lost
from edge.deps import Db, ReadyState, Settings
from edge.errors import ApiError, ErrorBody
from flagship import schema_version
from flagship.logs import logger

log = logger("edge.health")
router = APIRouter(tags=["health"])
READY_TIMEOUT = 2.0  # seconds; a probe must answer quickly either way


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Migrations(BaseModel):
    applied: int
    pending: int


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    migrations: Migrations


@router.get("/health", summary="Liveness: the process answers (no database access)")
async def health() -> Health:
    # async: answered on the event loop (a liveness probe needs no thread-pool hop)
    return Health()


class ReadyCache:
    """The last readiness answer (a Ready or an ApiError) and when it was computed."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.at = float("-inf")
        self.answer: Ready | ApiError | None = None


async def applied(db) -> set[str]:
    """The applied versions; a second try when the first pooled connection turns out dead
    (idle across a database restart: the pool discards it and hands out another)."""
    for attempt in (1, 2):
        try:
            async with db.connection(timeout=READY_TIMEOUT) as conn:
                await conn.execute("set local statement_timeout = 2000")
                return await schema_version.applied_versions_async(conn)
        except psycopg.OperationalError as exc:
            if attempt == 2 or not connection_lost(exc) or isinstance(exc, PoolTimeout):
                raise
    raise AssertionError("unreachable")


async def check(db) -> Ready | ApiError:
    try:
        done = await applied(db)
    except (psycopg.Error, PoolTimeout) as exc:
        # The reason stays in the log: connection errors name hosts and users.
        log.warning("not ready", reason=str(exc).strip() or type(exc).__name__)
        return ApiError(
            503, "not_ready", "The database does not answer.", {"reason": type(exc).__name__}
        )
    known = schema_version.shipped_versions()
    pending = [v for v in known if v not in done]
    counts = Migrations(applied=len(known) - len(pending), pending=len(pending))
    if pending:
        return ApiError(
            503,
            "not_ready",
            f"{len(pending)} migration(s) pending; run `flagship db migrate`.",
            {"migrations": counts.model_dump(), "pending_versions": pending},
        )
    return Ready(migrations=counts)


@router.get(
    "/ready",
    summary="Readiness: the database answers and no migration is pending",
    responses={503: {"model": ErrorBody, "description": "Not ready (code `not_ready`)"}},
)
async def ready(db: Db, settings: Settings, cache: ReadyState) -> Ready:
    async with cache.lock:  # one probe queries; the others wait for its answer
        if cache.answer is None or time.monotonic() - cache.at >= settings.ready_cache_seconds:
            cache.answer = await check(db)
            cache.at = time.monotonic()
        answer = cache.answer
    if isinstance(answer, ApiError):
        raise ApiError(answer.status, answer.code, answer.message, answer.details)
    return answer
