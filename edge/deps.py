"""FastAPI dependencies for what the app built once at startup, and their aliases.

Routes declare what they need by type (`db: Db`, `settings: Settings`) instead of reaching
into `request.app.state`; the caller aliases (`CurrentCaller`, ...) are in edge.auth.deps.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from edge.billing_stripe import BillingSettings
from edge.db import Database
from edge.settings import EdgeSettings


# async: they only read app.state, so FastAPI calls them on the event loop instead of
# handing each to the thread pool (a thread hop per dependency per request).
async def get_db(request: Request) -> Database:
    """The pool opened by the lifespan."""
    return request.app.state.db


async def get_settings(request: Request) -> EdgeSettings:
    """The settings the app was built with (read once)."""
    return request.app.state.edge


async def get_billing(request: Request) -> BillingSettings:
    return request.app.state.edge.billing


async def get_limiter(request: Request):
    return request.app.state.limiter


Db = Annotated[Database, Depends(get_db)]
Settings = Annotated[EdgeSettings, Depends(get_settings)]
Billing = Annotated[BillingSettings, Depends(get_billing)]
Limiter = Annotated[object, Depends(get_limiter)]


async def get_metrics(request: Request):
    """The app's Prometheus registry holder (edge.observability.Metrics)."""
    return request.app.state.metrics


async def get_ready_cache(request: Request):
    """The last /ready answer (edge.routers.health.ReadyCache)."""
    return request.app.state.ready_cache


Metrics = Annotated[Any, Depends(get_metrics)]
ReadyState = Annotated[Any, Depends(get_ready_cache)]
