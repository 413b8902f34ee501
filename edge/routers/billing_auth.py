"""The signed-in caller of the billing endpoints.

Temporary: this small dependency will be replaced by the shared edge auth dependency
(JWKS, API keys, rate limits) when that lands; keep its contract (the claims dict, or a 401
in the error shape) so the swap is one import.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import jwt
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from edge.errors import ApiError
from flagship.config import Settings

log = logging.getLogger("edge.billing.auth")
bearer = HTTPBearer(auto_error=False, description="A Supabase access token")


def signed_in_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> dict[str, Any]:
    """Verify a Supabase HS256 access token and return its claims.

    Will be replaced by the shared edge auth dependency. Requires `exp` and `sub`, the
    `authenticated` audience and role; anything else is 401 `not_authenticated`.
    """
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "not_authenticated", "Sign in first.", headers=challenge)
    try:
        claims = jwt.decode(
            credentials.credentials,
            Settings.from_env().jwt_secret,
            algorithms=["HS256"],
            audience="authenticated",
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError as exc:
        # The reason only (expired, bad signature ...); never the token.
        log.info("rejected access token: %s", type(exc).__name__)
        raise ApiError(
            401, "not_authenticated", "The access token is invalid or expired.", headers=challenge
        ) from exc
    if claims.get("role") != "authenticated":
        raise ApiError(401, "not_authenticated", "A user's access token is needed.")
    return claims
