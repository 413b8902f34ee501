"""Prometheus metrics (`/metrics`, also under `/functions/v1/metrics`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, latency, outbox depth/age, delivery failures",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"example": "edge_requests_total{...} 1.0"}}}},
)
async def metrics(request: Request) -> Response:
    data = await run_in_threadpool(generate_latest, request.app.state.metrics.registry)
    return Response(data, media_type=CONTENT_TYPE_LATEST)
