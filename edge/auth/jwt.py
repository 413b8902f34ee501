"""Supabase access tokens: HS256 with the project secret, RS256/ES256 from a JWKS URL.

The algorithm decides the key, never the other way round: HS256 is checked only against the
shared secret, RS256/ES256 only against the JWKS key named by `kid`. So `alg=none`, an
unknown algorithm, or an HS256 token signed with a public key (HS/RS confusion) all fail.
User tokens (role authenticated) must carry the configured audience and issuer; the
project's anon/service_role keys carry neither on Supabase and are accepted without them.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import jwt
from jwt import PyJWKClient

from edge.errors import ApiError
from edge.settings import EdgeSettings

HMAC_ALGORITHMS = ("HS256",)
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
ROLES = ("anon", "authenticated", "service_role")
LEEWAY = 10  # seconds of clock skew tolerated on exp/iat/nbf


def is_uuid(value: str) -> bool:
    """Supabase user ids are UUIDs; anything else would fail later as a 500 in SQL."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def invalid(reason: str) -> ApiError:
    return ApiError(
        401,
        "edge_token_invalid",
        "The access token is not valid.",
        {"reason": reason},
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


VERIFIED_CACHE_SIZE = 10_000
VERIFIED_CACHE_SECONDS = 60.0


class TokenVerifier:
    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        # token -> (until, claims): a verified token is trusted again for a minute at most
        # and never past its expiry, as the gateway's /rest/v1 does (a client sends the same
        # access token with every request; HMAC or RSA verification is then skipped).
        self._verified: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.jwks = (
            PyJWKClient(
                settings.jwks_url,
                cache_keys=True,
                lifespan=settings.jwks_cache_seconds,
                timeout=5,
            )
            if settings.jwks_url
            else None
        )

    def _key(self, token: str, alg: str) -> Any:
        if alg in HMAC_ALGORITHMS:
            if self.settings.jwt_secret is None:  # JWKS only: HS256 is not a way in
                raise invalid("algorithm not allowed")
            return self.settings.jwt_secret
        if alg in ASYMMETRIC_ALGORITHMS and self.jwks is not None:
            try:
                return self.jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as exc:
                raise invalid("unknown signing key") from exc
        raise invalid("algorithm not allowed")

    def cached(self, token: str) -> dict[str, Any] | None:
        """The claims of a token verified less than a minute ago (and not expired), else None."""
        hit = self._verified.get(token)
        return dict(hit[1]) if hit is not None and hit[0] > time.time() else None

    def offline(self, token: str) -> bool:
        """Whether verifying `token` needs nothing but memory: an HMAC token (the project
        secret). An asymmetric one may need the JWKS endpoint, so callers on the event loop
        send it to the thread pool."""
        try:
            return jwt.get_unverified_header(token).get("alg") in HMAC_ALGORITHMS
        except jwt.PyJWTError:
            return True  # refused without any lookup

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or ApiError 401 edge_token_invalid / edge_token_expired."""
        now = time.time()
        cached = self.cached(token)
        if cached is not None:
            return cached
        claims = self._verify(token)
        with self._lock:
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = (min(now + VERIFIED_CACHE_SECONDS, claims["exp"]), claims)
        return dict(claims)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise invalid("malformed") from exc
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise invalid("algorithm not allowed")
        key = self._key(token, alg)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                leeway=LEEWAY,
                options={"require": ["exp", "role"], "verify_aud": False, "verify_iss": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(
                401,
                "edge_token_expired",
                "The access token expired; refresh it.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc
        except jwt.PyJWTError as exc:
            raise invalid(type(exc).__name__) from exc
        role = claims.get("role")
        if role not in ROLES:
            raise invalid("role not allowed")
        if role == "authenticated" or "aud" in claims:
            aud = claims.get("aud")
            auds = aud if isinstance(aud, list) else [aud]
            if self.settings.jwt_audience not in auds:
                raise invalid("audience")
        if role == "authenticated":
            if claims.get("iss") != self.settings.jwt_issuer:
                raise invalid("issuer")
            if not isinstance(claims.get("sub"), str) or not is_uuid(claims["sub"]):
                raise invalid("subject")
        return claims
