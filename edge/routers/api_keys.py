"""API key → short-lived JWT exchange, and `me` (the caller's account, as the caller)."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from edge import dberrors
from edge.auth import api_keys
from edge.auth.deps import Caller, as_caller, client_ip, require_scope
from edge.deps import Db, Settings
from edge.errors import ApiError, ErrorBody
from edge.middleware import request_id_of

router = APIRouter(tags=["auth"])
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, invalid, expired or revoked credential"},
    429: {"model": ErrorBody, "description": "Rate limited (`Retry-After`)"},
}


class ExchangeRequest(BaseModel):
    api_key: str | None = Field(
        default=None, max_length=200, description="The key; or send it as X-Api-Key."
    )
    model_config = {"json_schema_extra": {"examples": [{"api_key": "fsk_1a2b3c4d_" + "0" * 64}]}}


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (OAuth token type)
    expires_in: int
    expires_at: int
    scopes: list[str]
    api_key_id: str
    user_id: str
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIs...",  # nosec B105
                    "token_type": "bearer",  # nosec B105
                    "expires_in": 900,
                    "expires_at": 1795000000,
                    "scopes": ["ctf:challenges:write"],
                    "api_key_id": "6f1c1f43-8e0e-4a53-9d7b-0b0c0f6a1b2c",
                    "user_id": "0d4f2a9e-1c3b-4e5f-8a7b-9c0d1e2f3a4b",
                }
            ]
        }
    }


@router.post(
    "/api-keys/token",
    summary="Exchange an API key for a short-lived access token",
    description=(
        "Returns a JWT (HS256, project secret) with role `authenticated`, `sub` = the key's "
        "owner and the key's `scopes`: PostgREST (`/rest/v1`) and this service accept it. "
        "Lifetime: EDGE_API_TOKEN_TTL (900 s), never past the key's expiry."
    ),
    responses=AUTH_ERRORS,
)
async def exchange(
    request: Request,
    db: Db,
    settings: Settings,
    body: ExchangeRequest | None = None,
    x_api_key: Annotated[str | None, Header(max_length=200)] = None,
) -> TokenResponse:
    key = (body.api_key if body else None) or x_api_key
    if not key:
        raise ApiError(401, "edge_api_key_invalid", "Send an API key (body api_key or X-Api-Key).")
    if settings.jwt_secret is None:
        raise ApiError(
            503,
            "edge_api_key_exchange_unavailable",
            "No JWT_SECRET is configured, so no token can be minted; send the API key itself.",
        )
    try:
        grant = await api_keys.authenticate(
            db, key, client_ip(request), request_id_of(request.scope)
        )
    except psycopg.Error as exc:
        raise dberrors.to_api_error(exc) or exc from None
    claims = api_keys.claims_for(grant, settings)
    request.scope.setdefault("state", {})["user_id"] = grant.owner_id
    return TokenResponse(
        access_token=api_keys.mint(claims, settings),
        expires_in=claims["exp"] - claims["iat"],
        expires_at=claims["exp"],
        scopes=grant.scopes,
        api_key_id=grant.key_id,
        user_id=grant.owner_id,
    )


class Me(BaseModel):
    user_id: str
    role: str
    via_api_key: str | None = None
    scopes: list[str] | None = None
    account: dict[str, Any] | None = None
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "user_id": "0d4f2a9e-1c3b-4e5f-8a7b-9c0d1e2f3a4b",
                    "role": "authenticated",
                    "via_api_key": None,
                    "scopes": None,
                    "account": {"email": "ada@example.test", "profile": {"username": "ada"}},
                }
            ]
        }
    }


@router.get(
    "/me",
    summary="The caller's account, read from the database as the caller",
    description=(
        "Runs `api.accounts_get_my_account()` with the caller's role and claims (RLS applies). "
        "An API key needs the `profile:read` scope (else 403 `scope_missing`)."
    ),
    responses={**AUTH_ERRORS, 403: {"model": ErrorBody, "description": "Key lacks a scope"}},
)
async def me(
    request: Request, caller: Annotated[Caller, Depends(require_scope("profile:read"))], db: Db
) -> Me:
    async with as_caller(request, caller, db) as conn:
        cursor = await conn.execute("select api.accounts_get_my_account() as a")
        account = (await cursor.fetchone())["a"]
    return Me(
        user_id=caller.user_id or "",
        role=caller.role,
        via_api_key=caller.api_key_id,
        scopes=caller.claims.get("scopes") if caller.api_key_id else None,
        account=account,
    )
