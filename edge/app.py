"""The application factory: one place that wires routers, middleware, errors and the pool.

Settings are read once here (EdgeSettings.from_env) and injected (edge.deps); the database
URL comes from the caller or DATABASE_URL (`flagship up` passes the embedded server's). The
edge imports no dev tooling (embedded server, migrator, CLI): see
tests/guards/test_import_boundaries.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from ai.provider import make_provider
from edge import errors, observability, playground
from edge.auth.jwt import TokenVerifier
from edge.client import ClientAddressMiddleware
from edge.db import Database
from edge.middleware import RequestIdMiddleware
from edge.ratelimit import LimiterCollector, make_limiter
from edge.routers import (
    ai_generate,
    ai_nlp,
    api_keys,
    assistant,
    batch,
    billing,
    email_hook,
    files,
    health,
    metrics,
    resend_webhook,
    stripe_webhook,
    unsubscribe,
)
from edge.routers.health import ReadyCache
from edge.security import BodyLimitMiddleware, IpRateLimitMiddleware, SecurityHeadersMiddleware
from edge.settings import EdgeSettings
from flagship import config
from flagship.database import as_caller_async

# `supabase.functions.invoke('<name>')` calls `<project>/functions/v1/<name>`.
PREFIX = "/functions/v1"
SERVICE = {"role": "service_role"}
STATS_TIMEOUT = 2.0


def _stats_reader(app: FastAPI, query: str, what: str):
    """A collector's `read()`: the scrape runs the collectors in the thread pool (the
    /metrics route), which hands the query back to the event loop's async pool."""
    log = observability.logger("edge.metrics")

    async def fetch(db) -> dict | None:
        # Named service-role use: the outbox and statistics are not readable by API callers.
        async with (
            db.connection(timeout=STATS_TIMEOUT) as conn,
            as_caller_async(conn, SERVICE, path="/metrics"),
        ):
            return await (await conn.execute(query)).fetchone()

    def read() -> dict | None:
        db = getattr(app.state, "db", None)
        if db is None:
            return None
        try:
            return anyio.from_thread.run(fetch, db)
        except Exception as exc:
            log.warning(f"{what} unavailable", error=type(exc).__name__)
            return None

    return read


def create_app(
    settings: config.Settings | None = None,
    *,
    database_url: str | None = None,
    edge: EdgeSettings | None = None,
) -> FastAPI:
    """Build the app; `database_url` overrides DATABASE_URL (tests point it at their clone)."""
    settings = settings or config.Settings.from_env()
    edge = edge or EdgeSettings.from_env(settings)
    database_url = database_url or settings.database_url
    if not database_url:
        raise config.ConfigError("DATABASE_URL is not set (`flagship up` sets it)")
    observability.configure_logging()
    observability.init_sentry(edge.sentry_dsn)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A pool per startup: a closed pool cannot be reopened, and tests restart the app.
        # The readiness cache too: its asyncio lock belongs to the loop that serves.
        app.state.ready_cache = ReadyCache()
        app.state.db = Database(
            database_url, statement_timeout_ms=edge.statement_timeout_ms, max_size=edge.db_pool_max
        )
        await app.state.db.open()
        try:
            yield
        finally:
            await app.state.db.close()

    app = FastAPI(
        title="Flagship edge",
        version="1",
        summary="Endpoints that need more than the database: webhooks, email, payments, AI.",
        description=(
            "Authenticate with `Authorization: Bearer <Supabase access token>` or an API key "
            "(`Authorization: Bearer fsk_...` / `X-Api-Key`). Every error has the body "
            "`{code, message, details, request_id}`; see docs/edge.md for the codes."
        ),
        docs_url=None,  # edge.playground serves {PREFIX}/docs from packaged assets
        openapi_url=f"{PREFIX}/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
        # Our own metrics (/metrics) and Sentry observe the edge; FastAPI's native
        # OpenTelemetry hooks, on by default, looked up the tracer provider (environment
        # variables) on every request for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        responses={
            "default": {"model": errors.ErrorBody, "description": "Any error"},
            413: {"model": errors.ErrorBody, "description": "Body too large"},
            422: {"model": errors.ErrorBody, "description": "Invalid request (invalid_argument)"},
            429: {"model": errors.ErrorBody, "description": "Rate limited; see Retry-After"},
        },
    )
    app.state.settings = settings
    app.state.edge = edge
    app.state.billing = edge.billing
    app.state.ai = make_provider(edge.ai)  # OpenAI when configured, else local (no LLM)
    app.state.verifier = TokenVerifier(edge)
    app.state.limiter = make_limiter(edge.redis_url)
    app.state.metrics = observability.Metrics()
    app.state.metrics.registry.register(
        observability.OutboxCollector(
            _stats_reader(app, "select * from ops.outbox_stats()", "outbox stats")
        )
    )
    app.state.metrics.registry.register(
        observability.DatabaseCollector(
            _stats_reader(app, observability.DATABASE_STATS_SQL, "database statistics")
        )
    )
    app.state.metrics.registry.register(LimiterCollector(app.state.limiter))

    # Added innermost first: request ids wrap everything, so every log line and error has one.
    app.add_middleware(IpRateLimitMiddleware, limiter=app.state.limiter, rule=edge.rate_ip)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=edge.max_body_bytes,
        streamed={f"{PREFIX}/files/upload/": edge.max_upload_bytes},
    )
    if edge.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(edge.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "authorization",
                "apikey",
                "content-type",
                "x-client-info",
                "x-api-key",
                "x-request-id",
            ],
            expose_headers=["x-request-id", "retry-after"],
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware, docs_prefix=f"{PREFIX}/docs")
    app.add_middleware(observability.AccessLogMiddleware, metrics=app.state.metrics)
    app.add_middleware(ClientAddressMiddleware, proxies=edge.trusted_proxies)
    app.add_middleware(RequestIdMiddleware)
    errors.install(app)
    app.include_router(health.router, prefix=PREFIX)
    app.include_router(api_keys.router, prefix=PREFIX)
    app.include_router(email_hook.router, prefix=PREFIX)
    app.include_router(resend_webhook.router, prefix=PREFIX)
    app.include_router(unsubscribe.router, prefix=PREFIX)
    app.include_router(batch.router, prefix=PREFIX)
    app.include_router(billing.router, prefix=PREFIX)
    app.include_router(files.router, prefix=PREFIX)
    app.include_router(assistant.router, prefix=PREFIX)
    app.include_router(ai_nlp.router, prefix=PREFIX)
    app.include_router(ai_generate.router, prefix=PREFIX)
    app.include_router(stripe_webhook.router, prefix=PREFIX)
    app.include_router(metrics.router, prefix=PREFIX)
    app.include_router(metrics.router, include_in_schema=False)
    # The interactive docs: offline Swagger UI on this app's own OpenAPI document.
    app.router.routes.extend(
        playground.routes(
            f"{PREFIX}/docs",
            f"{PREFIX}/openapi.json",
            "Flagship edge: API playground",
            anon_key=None,
            surface="edge",
        )
    )
    return app
