"""Structured logs (structlog, JSON), Prometheus metrics and Sentry.

Each request logs one JSON line: request_id, user_id, method, route (the template, not the
raw path), status, latency_ms. Headers, bodies and tokens are never logged; a processor also
drops any key that looks like a credential, in case a caller passes one by mistake.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.middleware import request_id_of
from flagship import logs
from flagship import observability as shared

# The one logging path (flagship.logs: structlog JSON, secrets redacted), re-exported here
# under the names the edge (and the gateway) import.
SECRET_KEYS = logs.SECRET_KEYS
_drop_secrets = logs._drop_secrets
configure_logging = logs.configure
logger = logs.logger


init_sentry = shared.init_sentry
OutboxCollector = shared.OutboxCollector
DatabaseCollector = shared.DatabaseCollector
DATABASE_STATS_SQL = shared.DATABASE_STATS_SQL


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "edge_requests",
            "HTTP requests answered, by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "edge_request_duration_seconds",
            "Request latency by route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logger("edge.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            if route.startswith("/") and not scope["path"].startswith(route.split("{")[0]):
                route = scope["path"][: scope["path"].find(route.split("{")[0])] + route
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            state = scope.get("state", {})
            level = logging.WARNING if status >= 500 else logging.INFO
            self.log.log(
                level,
                "request",
                request_id=request_id_of(scope),
                user_id=state.get("user_id"),
                method=method,
                route=route,
                status=status,
                latency_ms=round(elapsed * 1000, 2),
            )
