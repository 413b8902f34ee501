"""Standard Webhooks (and Svix, which Resend uses) signature verification.

Headers `webhook-id`, `webhook-timestamp`, `webhook-signature` (or the `svix-` names); the
signature list holds `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` entries, and the
secret is `whsec_<base64>` (Supabase writes it `v1,whsec_<base64>`). A timestamp outside the
tolerance is refused, which bounds replays; callers also remember ids (ops.webhook_receipts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

from edge.errors import ApiError


@dataclass(frozen=True)
class Delivery:
    id: str
    timestamp: int


def secret_bytes(secret: str) -> bytes:
    for prefix in ("v1,", "whsec_"):
        if secret.startswith(prefix):
            secret = secret[len(prefix) :]
    return base64.b64decode(secret)


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one delivery (used by tests and by our own senders)."""
    mac = hmac.new(
        secret_bytes(secret), f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256
    )
    return "v1," + base64.b64encode(mac.digest()).decode()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(f"webhook-{name}") or headers.get(f"svix-{name}")


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, tolerance: int, now: float | None = None
) -> Delivery:
    """The delivery's id and timestamp if the signature verifies; ApiError 401 otherwise."""
    webhook_id = _header(headers, "id")
    stamp = _header(headers, "timestamp")
    signatures = _header(headers, "signature")
    if not webhook_id or not stamp or not signatures:
        raise ApiError(401, "edge_webhook_signature", "Webhook signature headers are missing.")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise ApiError(401, "edge_webhook_timestamp", "Bad webhook timestamp.") from exc
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise ApiError(
            401,
            "edge_webhook_timestamp",
            "The webhook timestamp is outside the tolerance.",
            {"tolerance_seconds": tolerance},
        )
    try:
        expected = sign(secret, webhook_id, timestamp, body).split(",", 1)[1]
    except (ValueError, TypeError) as exc:  # a misconfigured secret is our fault, but no 500
        raise ApiError(503, "edge_webhook_not_configured", "Webhook secret unusable.") from exc
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return Delivery(webhook_id, timestamp)
    raise ApiError(401, "edge_webhook_signature", "The webhook signature does not verify.")
