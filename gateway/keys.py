"""The project's API keys and the two checks every request meets: `apikey`, then the JWT.

Kong (Supabase's gateway) lets a request through /rest/v1 and /auth/v1 only when its
`apikey` header (or `?apikey=` query parameter) is one of the project's keys: missing →
401 `{"message":"No API key found in request"}`, unknown → 401 `{"message":"Invalid
authentication credentials"}`. The keys are the ones `supabase start` prints: HS256 JWTs
with `{"iss": "supabase-demo", "role": ..., "exp": 1983812996}` signed with the project
secret, so with the local secret they are byte for byte the CLI's well-known keys.
`ANON_KEY` / `SERVICE_ROLE_KEY` in the environment replace them.

The JWT itself (Authorization: Bearer) is checked by the edge's `TokenVerifier`, wrapped
here into `JwtError` so each service can answer in its own error shape.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from edge.auth.jwt import TokenVerifier
from edge.errors import ApiError
from edge.settings import EdgeSettings

KEY_ISSUER = "supabase-demo"
KEY_EXPIRY = 1983812996  # the expiry of the Supabase CLI's local keys (2032-11-12)
NO_KEY = "No API key found in request"
BAD_KEY = "Invalid authentication credentials"


@dataclass(frozen=True)
class ProjectKeys:
    anon: str
    service_role: str

    def role_of(self, key: str) -> str | None:
        """'anon' / 'service_role' for a project key, None for anything else."""
        if key == self.anon:
            return "anon"
        if key == self.service_role:
            return "service_role"
        return None


def make_key(role: str, secret: str) -> str:
    return jwt.encode(
        {"iss": KEY_ISSUER, "role": role, "exp": KEY_EXPIRY}, secret, algorithm="HS256"
    )


def project_keys(secret: str) -> ProjectKeys:
    """The anon and service_role keys for `secret` (or ANON_KEY / SERVICE_ROLE_KEY)."""
    return ProjectKeys(
        anon=os.environ.get("ANON_KEY") or make_key("anon", secret),
        service_role=os.environ.get("SERVICE_ROLE_KEY") or make_key("service_role", secret),
    )


class KongError(Exception):
    """The gateway refused the request before any service saw it (Kong's body shape)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, str]:
        return {"message": self.message}


def check_apikey(headers: Mapping[str, str], query: Mapping[str, str], keys: ProjectKeys) -> str:
    """The role of the request's project key, or KongError 401 as Kong's key-auth plugin."""
    key = headers.get("apikey") or query.get("apikey")
    if not key:
        raise KongError(401, NO_KEY)
    role = keys.role_of(key)
    if role is None:
        raise KongError(401, BAD_KEY)
    return role


class JwtError(Exception):
    """The bearer token is not acceptable, with PostgREST's code and message for it.

    `code` is PGRST301 (the token cannot be decoded or verified) or PGRST303 (its claims
    are not acceptable: expired, wrong audience ...); `expired` tells expiry apart.
    """

    def __init__(self, message: str, *, code: str = "PGRST301", reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason

    @property
    def expired(self) -> bool:
        return self.reason == "expired"

    @property
    def www_authenticate(self) -> str:
        return f'Bearer error="invalid_token", error_description="{self.message}"'


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of `Authorization: Bearer <token>`, None without the header."""
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise JwtError("Empty JWT is sent in Authorization header", reason="scheme")
    return token.strip()


class JwtChecker:
    """Verifies access tokens with the edge's TokenVerifier (HS256 secret or JWKS)."""

    def __init__(self, edge: EdgeSettings) -> None:
        self.verifier = TokenVerifier(edge)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims, or JwtError with PostgREST's code and message."""
        if token.count(".") != 2:
            raise JwtError(f"Expected 3 parts in JWT; got {token.count('.') + 1}", reason="parts")
        try:
            return self.verifier.verify(token)
        except ApiError as exc:
            if exc.code == "edge_token_expired":
                raise JwtError("JWT expired", code="PGRST303", reason="expired") from exc
            reason = (exc.details or {}).get("reason", "invalid")
            code, message = REASONS.get(reason, ("PGRST301", "JWT couldn't be decoded"))
            raise JwtError(message, code=code, reason=reason) from exc


# TokenVerifier's reasons → PostgREST's JWT error (code, message).
REASONS = {
    "malformed": ("PGRST301", "JWT couldn't be decoded"),
    "algorithm not allowed": ("PGRST301", "Wrong or unsupported encoding algorithm"),
    "unknown signing key": ("PGRST301", "No suitable key or wrong key type"),
    "InvalidSignatureError": ("PGRST301", "JWT cryptographic operation failed"),
    "DecodeError": ("PGRST301", "JWT couldn't be decoded"),
    "ImmatureSignatureError": ("PGRST303", "JWT not yet valid"),
    "InvalidIssuedAtError": ("PGRST303", "JWT issued at future"),
    "MissingRequiredClaimError": ("PGRST303", "Parsing claims failed"),
    "audience": ("PGRST303", "JWT not in audience"),
    "issuer": ("PGRST303", "Parsing claims failed"),
    "subject": ("PGRST303", "Parsing claims failed"),
    "role not allowed": ("PGRST303", "Parsing claims failed"),
}
