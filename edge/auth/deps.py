"""FastAPI dependencies: who is calling, and a database connection acting as them.

A caller presents one of:
- `Authorization: Bearer <JWT>`: a Supabase access token (or the anon/service_role key);
- `Authorization: Bearer fsk_…` or `X-Api-Key: fsk_…`: an API key, checked in the database
  and turned into the same claims the exchange endpoint signs;
- nothing: anonymous (Supabase clients also send `apikey: <anon key>`, which is honoured
  when no Authorization header is present).
Per-user and per-key rate limits apply here, once the caller is known.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from edge import dberrors
from edge.api_error import ApiError
from edge.auth import api_keys
from edge.auth.jwt import TokenVerifier
from edge.client import client_ip_of
from edge.db import Database
from edge.deps import Db, Limiter, Settings
from edge.middleware import request_id_of
from edge.ratelimit import enforce

# Headers never copied into `request.headers` in the database (PostgREST copies them all;
# we keep credentials out of anything SQL might log or store).
SECRET_HEADERS = frozenset({"authorization", "apikey", "x-api-key", "cookie"})


@dataclass
class Caller:
    claims: dict[str, Any] = field(default_factory=lambda: {"role": "anon"})

    @property
    def role(self) -> str:
        return self.claims.get("role", "anon")

    @property
    def user_id(self) -> str | None:
        return self.claims.get("sub") if self.role == "authenticated" else None

    @property
    def api_key_id(self) -> str | None:
        return self.claims.get("api_key_id")

    def has_scope(self, scope: str) -> bool:
        return self.api_key_id is None or scope in self.claims.get("scopes", [])


def _credential(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "edge_token_invalid", "Use 'Authorization: Bearer <token>'.")
        return value.strip()
    return request.headers.get("x-api-key") or request.headers.get("apikey")


def client_ip(request: Request) -> str | None:
    """The client's address (edge.client: trusted proxies only), None when not an IP."""
    return client_ip_of(request.scope)


async def get_verifier(request: Request) -> TokenVerifier:
    return request.app.state.verifier


async def resolve_caller(
    request: Request,
    db: Db,
    settings: Settings,
    limiter: Limiter,
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
) -> Caller:
    """Authenticate the request (cached on request.state for the rest of the request).

    On the event loop: a JWT is checked in memory (cached verifications, HMAC tokens), an
    API key in the database (async); only an asymmetric JWT not seen yet, which may need the
    JWKS endpoint, goes to the thread pool."""
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    credential = _credential(request)
    if credential is None:
        caller = Caller()
    elif api_keys.looks_like_key(credential):
        try:
            grant = await api_keys.authenticate(
                db, credential, client_ip(request), request_id_of(request.scope)
            )
        except psycopg.Error as exc:
            raise dberrors.to_api_error(exc) or exc from None
        caller = Caller(api_keys.claims_for(grant, settings))
    else:
        # A cached verification or an HMAC token (microseconds, in memory) answers on the
        # loop; an asymmetric token, which may need the JWKS endpoint, goes to the thread pool.
        claims = verifier.cached(credential)
        if claims is None:
            if verifier.offline(credential):
                claims = verifier.verify(credential)
            else:
                claims = await run_in_threadpool(verifier.verify, credential)
        caller = Caller(claims)
    request.state.caller = caller
    request.scope.setdefault("state", {})["user_id"] = caller.user_id
    if caller.api_key_id:
        enforce(limiter, f"key:{caller.api_key_id}", settings.rate_api_key)
    elif caller.user_id:
        enforce(limiter, f"user:{caller.user_id}", settings.rate_user)
    return caller


async def require_user(caller: Annotated[Caller, Depends(resolve_caller)]) -> Caller:
    # async (no I/O): run on the event loop, not in the thread pool
    if caller.user_id is None:
        raise ApiError(
            401,
            "not_authenticated",
            "Sign in first (Authorization: Bearer <access token or API key>).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


AnyCaller = Annotated[Caller, Depends(resolve_caller)]
CurrentCaller = Annotated[Caller, Depends(require_user)]


def require_scope(scope: str):
    """Dependency factory: a signed-in caller whose API key (if any) holds `scope`.

    The edge's own routes declare their scope with it (`/me`: profile:read); what they run
    in SQL is checked again there (private.require_scope), with the key's live state."""

    async def check(caller: Annotated[Caller, Depends(require_user)]) -> Caller:
        if not caller.has_scope(scope):
            raise ApiError(403, "scope_missing", "The API key lacks a scope.", {"scope": scope})
        return caller

    return check


def request_headers(request: Request) -> dict[str, str]:
    """Headers for `request.headers` in SQL: lower-cased, credentials removed, request id set."""
    headers = {k: v for k, v in request.headers.items() if k not in SECRET_HEADERS}
    headers["x-request-id"] = request_id_of(request.scope) or ""
    return headers


@asynccontextmanager
async def as_caller(
    request: Request, caller: Caller, db: Database
) -> AsyncIterator[psycopg.AsyncConnection]:
    """One transaction acting as `caller`, as PostgREST would run it; API errors mapped."""
    try:
        async with db.caller(
            caller.claims,
            method=request.method,
            path=request.url.path,
            headers=request_headers(request),
            client_ip=client_ip(request),
        ) as conn:
            yield conn
    except psycopg.Error as exc:
        dberrors.raise_mapped(exc, anonymous=caller.role == "anon")


@asynccontextmanager
async def as_service(request: Request, db: Database) -> AsyncIterator[psycopg.AsyncConnection]:
    """The named service-role use (webhooks, hooks): request path, id and client address."""
    async with db.caller(
        {"role": "service_role"},
        method=request.method,
        path=request.url.path,
        headers={"x-request-id": request_id_of(request.scope) or ""},
        client_ip=client_ip(request),
    ) as conn:
        yield conn
