"""Request plumbing for /auth/v1: the per-request context, bodies, limits, callers, redirects."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from edge.observability import logger
from gateway.auth import errors
from gateway.auth.config import AuthSettings
from gateway.auth.errors import AuthError
from gateway.auth.mail import Mailer
from gateway.keys import (
    JwtChecker,
    JwtError,
    KongError,
    ProjectKeys,
    bearer_token,
    check_apikey,
)

log = logger("gateway.auth")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ADMIN_ROLES = ("service_role", "supabase_admin")
# Kong lets these through without an apikey: browsers open email links and OAuth redirects.
OPEN_PATHS = ("/verify", "/callback", "/authorize")


@dataclass
class Services:
    """What every handler needs, built once by `create_auth_app`."""

    settings: AuthSettings
    pool: ConnectionPool
    limiter: Any
    mailer: Mailer
    jwt: JwtChecker
    keys: ProjectKeys


@dataclass
class Ctx:
    """One request: its parsed body and query, caller address and the services."""

    request: Request
    services: Services
    body: dict[str, Any]
    query: dict[str, str]
    ip: str
    user_agent: str | None
    claims: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def settings(self) -> AuthSettings:
        return self.services.settings


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        return {k: v for k, v in form.items()}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise AuthError(400, "bad_json", f"Could not parse request body as JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON: not an object")
    return data


Handler = Callable[[Ctx], Any]


def endpoint(services: Services, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint that parses the request and runs `handler(ctx)` in a thread."""

    async def run(request: Request) -> Response:
        if request.url.path.removeprefix(request.scope.get("root_path", "")) not in OPEN_PATHS:
            try:
                check_apikey(request.headers, request.query_params, services.keys)
            except KongError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)
        try:
            body = await _body(request) if request.method in ("POST", "PUT") else {}
            ctx = Ctx(
                request=request,
                services=services,
                body=body,
                query=dict(request.query_params),
                ip=request.client.host if request.client else "unknown",
                user_agent=request.headers.get("user-agent"),
            )
            result = await run_in_threadpool(handler, ctx)
        except AuthError as exc:
            return errors.error_response(request, exc)
        except Exception as exc:  # our fault: Supabase Auth's 500 shape, details in the log
            log.error("auth request failed", path=request.url.path, error=type(exc).__name__)
            return errors.error_response(
                request,
                AuthError(
                    500,
                    "unexpected_failure",
                    "Unexpected failure, please check server logs for more information",
                ),
            )
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status_code=204)
        return JSONResponse(result, headers=ctx.headers)

    return run


def limit(ctx: Ctx, bucket: str, count: int, window: float | None = None) -> None:
    """Supabase Auth's per-IP limiter: 429 over_request_rate_limit past `count`."""
    window = window or ctx.settings.rate_limits.window_seconds
    if ctx.services.limiter.hit(f"auth:{bucket}:{ctx.ip}", count, window) is not None:
        raise errors.too_many("over_request_rate_limit", "Request rate limit reached")


def text(ctx: Ctx, key: str) -> str:
    value = ctx.body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise errors.validation(f"{key} must be a string")
    return value.strip() if key in ("email", "phone", "new_email") else value


def mapping(ctx: Ctx, key: str) -> dict[str, Any] | None:
    value = ctx.body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise errors.validation(f"{key} must be an object")
    return value


def valid_email(email: str) -> str:
    if not email:
        raise errors.validation("An email address is required")
    if len(email) > 255:
        raise errors.validation("An email address is too long")
    if not EMAIL.match(email):
        raise errors.validation("Unable to validate email address: invalid format")
    return email.lower()


def caller(ctx: Ctx) -> dict[str, Any]:
    """The verified claims of the bearer token (Supabase Auth's requireAuthentication)."""
    try:
        token = bearer_token(ctx.request.headers)
    except JwtError as exc:
        raise AuthError(401, "no_authorization", exc.message) from exc
    if token is None:
        raise AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token")
    try:
        claims = ctx.services.jwt.claims(token)
    except JwtError as exc:
        raise errors.forbidden(
            "bad_jwt", f"invalid JWT: unable to parse or verify signature, {exc.message}"
        ) from exc
    ctx.claims = claims
    return claims


def user_claims(ctx: Ctx) -> tuple[str, str | None]:
    """(user id, session id) of a signed-in caller's token."""
    claims = caller(ctx)
    sub = claims.get("sub")
    if not sub:
        raise errors.forbidden("bad_jwt", "invalid claim: missing sub claim")
    try:
        uuid.UUID(str(sub))
    except ValueError as exc:
        raise errors.bad_request("bad_jwt", "invalid claim: sub claim must be a UUID") from exc
    session = claims.get("session_id")
    if session is not None:
        try:
            uuid.UUID(str(session))
        except ValueError as exc:
            raise errors.forbidden(
                "bad_jwt", "invalid claim: session_id claim must be a UUID"
            ) from exc
    return str(sub), (str(session) if session else None)


def require_admin(ctx: Ctx) -> None:
    """The service key (or supabase_admin) only, as Supabase Auth's admin routes."""
    claims = caller(ctx)
    if claims.get("role") not in ADMIN_ROLES:
        raise errors.forbidden("not_admin", "User not allowed")


def _glob(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/.]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/.]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def redirect_target(settings: AuthSettings, value: str | None) -> str:
    """`redirect_to` when the site URL's host or an allowed URL pattern permits it."""
    if value:
        parts = urlsplit(value)
        site = urlsplit(settings.site_url)
        if parts.scheme in ("http", "https") and parts.netloc == site.netloc:
            return value
        for pattern in settings.additional_redirect_urls:
            if _glob(pattern).match(value) or value.rstrip("/") == pattern.rstrip("/"):
                return value
    return settings.site_url


def referrer(ctx: Ctx) -> str:
    value = ctx.query.get("redirect_to") or ctx.request.headers.get("referer")
    return redirect_target(ctx.settings, value)
