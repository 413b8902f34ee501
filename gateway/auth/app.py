"""`create_auth_app(settings, pool)`: the Supabase-Auth-compatible service at /auth/v1.

Mounted by the gateway under /auth/v1 after its apikey check; `settings` is the gateway's
config (`gateway.config.GatewayConfig`), whose `toml` holds supabase/config.toml.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from edge.ratelimit import make_limiter
from flagship.database import pool_kwargs
from gateway.auth import admin, routes
from gateway.auth.config import AuthSettings, from_gateway
from gateway.auth.errors import AuthError, error_response
from gateway.auth.http import Services, endpoint
from gateway.auth.mail import Mailer
from gateway.keys import JwtChecker, project_keys

AUTH_ROLE = "supabase_auth_admin"
# (method, path, handler, summary): the route table, and what the generated API reference
# (flagship.reference) says about each route, next to it so the two cannot drift apart.
ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/health", routes.health, "Liveness of the Auth service"),
    ("GET", "/settings", routes.settings_view, "Enabled providers and sign-up settings"),
    ("POST", "/signup", routes.signup, "Sign up with email and password"),
    ("POST", "/token", routes.token, "Sign in or refresh: grant_type=password|refresh_token|pkce"),
    ("POST", "/otp", routes.otp, "Email a magic link or a one-time code"),
    ("POST", "/magiclink", routes.magiclink, "Email a magic link"),
    ("GET", "/verify", routes.verify_get, "Email link: verify and redirect with the session"),
    ("POST", "/verify", routes.verify_post, "Verify an emailed token or code for a session"),
    ("POST", "/recover", routes.recover, "Email a password recovery link"),
    ("POST", "/resend", routes.resend, "Resend a sign-up or email-change confirmation"),
    ("GET", "/user", routes.user_get, "The signed-in user"),
    ("PUT", "/user", routes.user_put, "Update the signed-in user's data, password or email"),
    ("POST", "/logout", routes.logout, "Sign out: scope=global|local|others"),
    ("GET", "/reauthenticate", routes.reauthenticate, "Email a code to confirm a password change"),
    ("POST", "/invite", admin.invite, "Admin: invite a user by email"),
    ("GET", "/admin/users", admin.list_users, "Admin: list users (page, per_page)"),
    ("POST", "/admin/users", admin.create_user, "Admin: create a user"),
    ("GET", "/admin/users/{user_id}", admin.get_user, "Admin: one user"),
    ("PUT", "/admin/users/{user_id}", admin.update_user, "Admin: update a user"),
    ("DELETE", "/admin/users/{user_id}", admin.delete_user, "Admin: delete a user"),
    ("POST", "/admin/generate_link", admin.generate_link, "Admin: make an email link"),
]

# Query parameters the handlers read, per route (documented in the generated reference).
QUERY: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/token"): ("grant_type",),
    ("GET", "/verify"): ("token", "type", "redirect_to"),
    ("POST", "/logout"): ("scope",),
    ("GET", "/admin/users"): ("page", "per_page"),
}


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request, AuthError(404, "not_found", "Not Found"))


async def _method(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request, AuthError(405, "method_not_allowed", "Method Not Allowed"))


def auth_pool(pool: ConnectionPool) -> ConnectionPool:
    """`pool` when it logs in as supabase_auth_admin, else a pool of that role (not opened).

    Supabase Auth connects as `supabase_auth_admin`, which owns the auth schema; `postgres`
    is not a member of it (as on Supabase), so the gateway's own pool cannot be used.
    AUTH_DATABASE_URL names the connection; by default it is the pool's server and database
    with the user replaced (the embedded server lets the role in over its socket).
    """
    explicit = os.environ.get("AUTH_DATABASE_URL")
    if not explicit and conninfo_to_dict(pool.conninfo).get("user") == AUTH_ROLE:
        return pool
    conninfo = explicit or make_conninfo(pool.conninfo, user=AUTH_ROLE, password="")  # nosec B106: no password: peer/trust auth
    return ConnectionPool(
        conninfo, min_size=1, max_size=5, open=False, name="auth", timeout=5.0,
        kwargs=pool_kwargs(),
    )  # fmt: skip


def create_auth_app(
    settings: Any, pool: ConnectionPool, *, auth_settings: AuthSettings | None = None
) -> Starlette:
    """The /auth/v1 ASGI app; `auth_settings` replaces what config.toml says (tests)."""
    auth = auth_settings or from_gateway(settings)
    own = auth_pool(pool)
    limiter = make_limiter(auth.redis_url)
    edge = getattr(settings, "edge", None)
    if edge is None:
        raise TypeError("create_auth_app needs the gateway config (with .edge and .settings)")
    services = Services(
        settings=auth,
        pool=own,
        limiter=limiter,
        mailer=Mailer(auth, limiter),
        jwt=JwtChecker(edge),
        keys=project_keys(settings.settings.jwt_secret),
    )
    table = [
        Route(path, endpoint(services, handler), methods=[method], name=f"{method} {path}")
        for method, path, handler, _summary in ROUTES
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # A pool per startup: a closed pool cannot be reopened (tests restart apps).
        if services.pool is not pool:
            services.pool = auth_pool(pool)
            services.pool.open(wait=False)
        try:
            yield
        finally:
            services.mailer.close()
            if services.pool is not pool:
                services.pool.close()

    app = Starlette(
        routes=table, exception_handlers={404: _not_found, 405: _method}, lifespan=lifespan
    )
    app.state.auth = services
    return app
