"""The application factory: one place that wires routers, middleware, errors and the pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from edge import errors
from edge.billing_stripe import BillingSettings
from edge.db import Database
from edge.middleware import RequestIdMiddleware
from edge.routers import billing, health, stripe_webhook
from flagship import config

# `supabase.functions.invoke('<name>')` calls `<project>/functions/v1/<name>`.
PREFIX = "/functions/v1"


def create_app(
    settings: config.Settings | None = None, *, database_url: str | None = None
) -> FastAPI:
    """Build the app; `database_url` overrides the target (tests point it at their clone)."""
    settings = settings or config.Settings.from_env()
    if database_url is None:
        from flagship.target import resolve

        database_url = resolve(settings).url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A pool per startup: a closed pool cannot be reopened, and tests restart the app.
        app.state.db = Database(database_url)
        app.state.db.open()
        try:
            yield
        finally:
            app.state.db.close()

    app = FastAPI(
        title="Flagship edge",
        version="1",
        summary="Endpoints that need more than the database: webhooks, email, payments, AI.",
        docs_url=f"{PREFIX}/docs",
        openapi_url=f"{PREFIX}/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
        responses={"default": {"model": errors.ErrorBody, "description": "Any error"}},
    )
    app.state.settings = settings
    app.state.billing = BillingSettings.from_env()
    app.add_middleware(RequestIdMiddleware)
    errors.install(app)
    app.include_router(health.router, prefix=PREFIX)
    app.include_router(billing.router, prefix=PREFIX)
    app.include_router(stripe_webhook.router, prefix=PREFIX)
    return app
