"""Signed one-click unsubscribe tokens: `<base64url payload>.<base64url HMAC-SHA256>`.

The payload names the address and the category. Tokens do not expire: an unsubscribe link
in an old email must keep working (RFC 8058). The key is derived from the project's JWT
secret, so rotating that secret also retires old links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"flagship-unsubscribe-v1", hashlib.sha256).digest()


def make_token(secret: str, email: str, category: str) -> str:
    payload = _b64(json.dumps({"e": email.lower(), "c": category}, separators=(",", ":")).encode())
    mac = hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def read_token(secret: str, token: str) -> tuple[str, str] | None:
    """(email, category) when the token verifies, else None."""
    payload, _, mac = token.partition(".")
    if not payload or not mac:
        return None
    expected = hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        data = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("e"), str):
        return None
    if not isinstance(data.get("c"), str):
        return None
    return data["e"], data["c"]
