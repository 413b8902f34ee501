"""Probes for orchestrators and `flagship up`: liveness without the database, readiness with.

Readiness means the database answers *and* carries every migration this code ships with:
an edge newer than its schema would call functions that do not exist yet.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import psycopg
from fastapi import APIRouter, Depends
from psycopg_pool import PoolTimeout
from pydantic import BaseModel

from edge.db import Database, get_db
from edge.errors import ApiError, ErrorBody
from flagship import migrate

log = logging.getLogger("edge.health")
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
def health() -> Health:
    return Health()


@router.get(
    "/ready",
    summary="Readiness: the database answers and no migration is pending",
    responses={503: {"model": ErrorBody, "description": "Not ready (code `not_ready`)"}},
)
def ready(db: Annotated[Database, Depends(get_db)]) -> Ready:
    try:
        with db.connection(timeout=READY_TIMEOUT) as conn:
            conn.execute("set local statement_timeout = 2000")
            done = migrate.applied_versions(conn)
    except (psycopg.Error, PoolTimeout) as exc:
        log.warning("not ready: %s", str(exc).strip() or type(exc).__name__)
        # The reason stays in the log: connection errors name hosts and users.
        raise ApiError(
            503, "not_ready", "The database does not answer.", {"reason": type(exc).__name__}
        ) from exc
    known = [m.version for m in migrate.migrations()]
    pending = [v for v in known if v not in done]
    counts = Migrations(applied=len(known) - len(pending), pending=len(pending))
    if pending:
        raise ApiError(
            503,
            "not_ready",
            f"{len(pending)} migration(s) pending; run `flagship db migrate`.",
            {"migrations": counts.model_dump(), "pending_versions": pending},
        )
    return Ready(migrations=counts)
