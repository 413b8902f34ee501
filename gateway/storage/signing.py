"""Signed URL tokens, as Supabase Storage makes them (src/storage/object.ts).

A token is an HS256 JWT signed with the project's JWT secret:

- download (`/object/sign/...`, `/render/image/sign/...`): `{url: "<bucket>/<name>",
  scope: "download", iat, exp}`, plus `transformations` (and `format`) for a signed
  transformation, which then come from the token and not from the query string;
- upload (`/object/upload/sign/...`, valid 2 hours): `{owner, url, upsert, scope: "upload",
  iat, exp}`.

Verification checks the signature, the scope (a download token cannot upload and the other
way round: Storage's read-token → write-replay fix), that `url` is exactly the requested
object, and expiry. Any change to the token or the path fails.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from gateway.storage import errors

DOWNLOAD = "download"
UPLOAD = "upload"
UPLOAD_EXPIRY = 7200  # Storage's uploadSignedUrlExpirationTime
MAX_EXPIRY = 10 * 365 * 24 * 3600


def sign(secret: str, claims: dict[str, Any], expires_in: int) -> str:
    now = int(time.time())
    return jwt.encode({**claims, "iat": now, "exp": now + expires_in}, secret, algorithm="HS256")


def download_token(secret: str, url: str, expires_in: int, extra: dict[str, str] | None = None):
    claims = {k: v for k, v in (extra or {}).items() if v and k not in ("role", "upsert", "owner")}
    return sign(secret, {**claims, "url": url, "scope": DOWNLOAD}, expires_in)


def upload_token(secret: str, url: str, owner: str | None, upsert: bool) -> str:
    return sign(
        secret, {"owner": owner, "url": url, "upsert": upsert, "scope": UPLOAD}, UPLOAD_EXPIRY
    )


def verify(secret: str, token: str | None, url: str, scope: str) -> dict[str, Any]:
    """The payload of a token for `url` and `scope`, or Storage's refusal."""
    if not token:
        raise errors.StorageError(
            400, "InvalidRequest", "querystring must have required property 'token'", "Bad Request"
        )
    try:
        payload = jwt.decode(
            token, secret, algorithms=["HS256"], options={"verify_exp": False, "verify_aud": False}
        )
    except jwt.InvalidSignatureError as exc:
        raise errors.invalid_jwt("signature verification failed") from exc
    except jwt.PyJWTError as exc:
        raise errors.invalid_jwt("jwt malformed") from exc
    token_scope = payload.get("scope")
    if scope == UPLOAD:
        ok = token_scope == UPLOAD or (token_scope is None and "upsert" in payload)
    else:
        ok = token_scope == DOWNLOAD or (token_scope is None and "upsert" not in payload)
    if not ok:
        raise errors.invalid_signature(f"Token is not scoped for {scope}")
    if payload.get("url") != url:
        raise errors.invalid_signature()
    exp = payload.get("exp")
    if not isinstance(exp, int | float) or exp < time.time():
        raise errors.expired_signature()
    return payload


def check_expires_in(value: Any) -> int:
    """`expiresIn`: positive whole seconds (Storage's assertValidNumericJWTExpiration)."""
    try:
        seconds = int(str(value))
    except ValueError as exc:
        raise errors.invalid_parameter("expiresIn", "expiresIn must be a positive integer") from exc
    if seconds < 1 or seconds > MAX_EXPIRY:
        raise errors.invalid_parameter("expiresIn", "expiresIn must be a positive integer")
    return seconds
