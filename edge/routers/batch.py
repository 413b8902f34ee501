"""`/batch`: up to EDGE_BATCH_MAX sub-requests in one round trip, each with its own status.

Each sub-request runs through the whole app (auth, rate limits, errors, logs) with the
outer request's credentials; its request id is `<outer id>.<index>`. Sub-requests run
concurrently, at most four at a time; a batch inside a batch is refused.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from edge.errors import ApiError, ErrorBody
from edge.middleware import request_id_of

router = APIRouter(tags=["batch"])
PREFIX = "/functions/v1/"
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


@router.post(
    "/batch",
    summary="Run several sub-requests in one round trip",
    responses={
        400: {"model": ErrorBody, "description": "Too many sub-requests, or a nested batch"}
    },
)
async def batch(request: Request, payload: BatchRequest) -> BatchResponse:
    limit = request.app.state.edge.batch_max
    if len(payload.requests) > limit:
        raise ApiError(
            400, "edge_batch_too_large", f"At most {limit} sub-requests per batch.", {"max": limit}
        )
    if any(r.path.split("?")[0].rstrip("/") == "/functions/v1/batch" for r in payload.requests):
        raise ApiError(400, "invalid_argument", "A batch cannot contain a batch.")
    outer_id = request_id_of(request.scope) or "batch"
    forwarded = {k: v for k, v in request.headers.items() if k in FORWARDED}
    client = (request.client.host, request.client.port) if request.client else ("127.0.0.1", 0)
    transport = httpx.ASGITransport(app=request.app, client=client)
    gate = asyncio.Semaphore(CONCURRENCY)

    async with httpx.AsyncClient(transport=transport, base_url="http://edge.internal") as http:

        async def run(index: int, sub: SubRequest) -> SubResponse:
            headers = {**forwarded, "x-request-id": f"{outer_id}.{index}"}
            content = None
            if sub.body is not None:
                content = json.dumps(sub.body).encode()
                headers["content-type"] = "application/json"
            async with gate:
                response = await http.request(
                    sub.method, sub.path, headers=headers, content=content
                )
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            kept = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
            return SubResponse(id=sub.id, status=response.status_code, body=body, headers=kept)

        results = await asyncio.gather(*(run(i, s) for i, s in enumerate(payload.requests)))
    return BatchResponse(responses=list(results))
