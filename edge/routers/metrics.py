"""Prometheus metrics (`/metrics`, also under `/functions/v1/metrics`), not public.

With METRICS_TOKEN set, a scrape sends `Authorization: Bearer <METRICS_TOKEN>`; without it,
only loopback clients (a local Prometheus, `flagship up`) may read them.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from edge.client import client_ip_of
from edge.deps import Metrics, Settings
from edge.errors import ApiError, ErrorBody

router = APIRouter(tags=["health"])


def allowed(request: Request, token: str | None) -> bool:
    if token:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token)
    ip = client_ip_of(request.scope)
    return ip is not None and ipaddress.ip_address(ip).is_loopback


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, latency, outbox depth/age, delivery failures",
    description="Bearer METRICS_TOKEN; without one configured, loopback clients only.",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"example": "edge_requests_total{...} 1.0"}}},
        401: {"model": ErrorBody, "description": "Missing or wrong METRICS_TOKEN"},
        403: {"model": ErrorBody, "description": "Not loopback and no METRICS_TOKEN set"},
    },
)
async def metrics(request: Request, settings: Settings, registry: Metrics) -> Response:
    if not allowed(request, settings.metrics_token):
        if settings.metrics_token:
            raise ApiError(
                401,
                "not_authenticated",
                "Send Authorization: Bearer <METRICS_TOKEN>.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise ApiError(403, "forbidden", "Metrics are served to loopback clients only.")
    data = await run_in_threadpool(generate_latest, registry.registry)
    return Response(data, media_type=CONTENT_TYPE_LATEST)
