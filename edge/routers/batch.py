"""`/batch`: up to EDGE_BATCH_MAX sub-requests in one round trip, each with its own status.

Each sub-request runs through the whole app (auth, every rate limit, errors, logs) with the
outer request's credentials and client address; its request id is `<outer id>.<index>`.
Sub-requests run concurrently, at most four at a time.

Paths are resolved before anything runs: percent-escapes are decoded once (a path that still
holds one after that is refused), dot segments and repeated slashes are resolved, and the
result must stay under /functions/v1/. A batch inside a batch is refused twice over: by the
resolved path up front, and by the batch route itself, which refuses any request marked as a
sub-request (SUB_REQUEST header, set here, whatever the path was spelled like).
"""

from __future__ import annotations

import asyncio
import json
import posixpath
from typing import Any, Literal
from urllib.parse import quote, unquote

import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from edge.client import client_ip_of
from edge.deps import Settings
from edge.errors import ApiError, ErrorBody
from edge.middleware import MAX_LENGTH, request_id_of

router = APIRouter(tags=["batch"])
PREFIX = "/functions/v1/"
BATCH_PATH = "/functions/v1/batch"
SUB_REQUEST = "x-flagship-batch-sub-request"  # set on every sub-request by this module
FORWARDED = ("authorization", "apikey", "x-api-key")
CONCURRENCY = 4
HARD_MAX = 100


class SubRequest(BaseModel):
    id: str | None = Field(default=None, max_length=64)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str = Field(pattern=r"^/functions/v1/[A-Za-z0-9._~/?&=%-]*$", max_length=2000)
    body: Any = None


class BatchRequest(BaseModel):
    requests: list[SubRequest] = Field(min_length=1, max_length=HARD_MAX)
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "requests": [
                        {"id": "a", "method": "GET", "path": "/functions/v1/health"},
                        {"id": "b", "method": "GET", "path": "/functions/v1/me"},
                    ]
                }
            ]
        }
    )


class SubResponse(BaseModel):
    id: str | None
    status: int
    body: Any = None
    headers: dict[str, str] = {}


class BatchResponse(BaseModel):
    responses: list[SubResponse]
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "responses": [
                        {"id": "a", "status": 200, "body": {"status": "ok"}, "headers": {}},
                        {"id": "b", "status": 401, "body": {"code": "not_authenticated"}},
                    ]
                }
            ]
        }
    )


KEPT_HEADERS = ("content-type", "retry-after", "x-request-id")


def nested() -> ApiError:
    return ApiError(400, "invalid_argument", "A batch cannot contain a batch.")


def resolve_path(raw: str) -> str:
    """The path a sub-request really names (query kept), or ApiError 400."""
    path, sep, query = raw.partition("?")
    decoded = unquote(path)
    if "%" in decoded:
        raise ApiError(
            400, "invalid_argument", "Sub-request paths may be percent-encoded once at most."
        )
    resolved = posixpath.normpath("/" + decoded.lstrip("/"))
    if not (resolved + "/").startswith(PREFIX):
        raise ApiError(400, "invalid_argument", "Sub-request paths stay under /functions/v1/.")
    if resolved.rstrip("/") == BATCH_PATH:
        raise nested()
    return quote(resolved, safe="/._~-") + sep + query


@router.post(
    "/batch",
    summary="Run several sub-requests in one round trip",
    responses={
        400: {"model": ErrorBody, "description": "Too many sub-requests, or a nested batch"}
    },
)
async def batch(request: Request, payload: BatchRequest, settings: Settings) -> BatchResponse:
    if SUB_REQUEST in request.headers:
        raise nested()
    limit = settings.batch_max
    if len(payload.requests) > limit:
        raise ApiError(
            400, "edge_batch_too_large", f"At most {limit} sub-requests per batch.", {"max": limit}
        )
    paths = [resolve_path(r.path) for r in payload.requests]
    # Sub-ids are `<outer>.<index>` and must stay valid request ids themselves.
    outer_id = (request_id_of(request.scope) or "batch")[: MAX_LENGTH - 4]
    forwarded = {k: v for k, v in request.headers.items() if k in FORWARDED}
    # Sub-requests come from the client's own address (already resolved through trusted
    # proxies), so the per-IP limit counts them against the client, not against a proxy.
    host = client_ip_of(request.scope) or (request.client.host if request.client else "")
    client = (host or "127.0.0.1", request.client.port if request.client else 0)
    transport = httpx.ASGITransport(app=request.app, client=client)
    gate = asyncio.Semaphore(CONCURRENCY)

    async with httpx.AsyncClient(transport=transport, base_url="http://edge.internal") as http:

        async def run(index: int, sub: SubRequest, path: str) -> SubResponse:
            headers = {**forwarded, "x-request-id": f"{outer_id}.{index}", SUB_REQUEST: "1"}
            content = None
            if sub.body is not None:
                content = json.dumps(sub.body).encode()
                headers["content-type"] = "application/json"
            async with gate:
                response = await http.request(sub.method, path, headers=headers, content=content)
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            kept = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
            return SubResponse(id=sub.id, status=response.status_code, body=body, headers=kept)

        results = await asyncio.gather(
            *(run(i, s, p) for i, (s, p) in enumerate(zip(payload.requests, paths, strict=True)))
        )
    return BatchResponse(responses=list(results))
