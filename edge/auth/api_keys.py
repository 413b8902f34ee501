"""API keys: check a presented key in the database and turn it into a short-lived JWT.

The check runs as `service_role` (the one place the edge names it for keys): the caller is
not known yet, and `ops.authenticate_api_key` is granted to service_role only. The token is
what PostgREST would accept: HS256 with the project secret, role authenticated, aud
authenticated, sub = the key's owner, plus `scopes` and `api_key_id` claims that
`private.has_scope()` reads in SQL.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from edge.api_error import ApiError
from edge.db import Database
from edge.settings import EdgeSettings

KEY_PATTERN = re.compile(r"fsk_[0-9a-f]{8}_[0-9a-f]{64}")  # fullmatch: no trailing newline
SERVICE = {"role": "service_role"}


@dataclass(frozen=True)
class KeyGrant:
    key_id: str
    owner_id: str
    scopes: list[str]
    expires_at: datetime | None


def looks_like_key(value: str) -> bool:
    return value.startswith("fsk_")


async def authenticate(db: Database, key: str, ip: str | None, request_id: str | None) -> KeyGrant:
    """The key's grant; raises psycopg errors carrying edge_api_key_* codes, or ApiError 401
    edge_api_key_invalid for text that is not a key's shape (a NUL byte never reaches SQL)."""
    if not KEY_PATTERN.fullmatch(key):
        raise ApiError(401, "edge_api_key_invalid", "Invalid API key.")
    async with db.caller(
        SERVICE,
        path="/functions/v1/api-keys/token",
        headers={"x-request-id": request_id or ""},
        client_ip=ip,
    ) as conn:
        cursor = await conn.execute(
            "select * from ops.authenticate_api_key(%s, %s::inet)", (key, ip)
        )
        row = await cursor.fetchone()
    return KeyGrant(
        str(row["key_id"]), str(row["owner_id"]), list(row["scopes"]), row["expires_at"]
    )


def claims_for(grant: KeyGrant, settings: EdgeSettings) -> dict[str, Any]:
    now = int(time.time())
    exp = now + settings.api_token_ttl
    if grant.expires_at is not None:
        exp = min(exp, int(grant.expires_at.timestamp()))
    return {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": grant.owner_id,
        "role": "authenticated",
        "iat": now,
        "exp": exp,
        "scopes": grant.scopes,
        "api_key_id": grant.key_id,
        "amr": [{"method": "api_key", "timestamp": now}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }


def mint(claims: dict[str, Any], settings: EdgeSettings) -> str:
    if settings.jwt_secret is None:
        raise RuntimeError("no JWT_SECRET: tokens cannot be minted")
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
