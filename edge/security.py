"""HTTP hardening: security headers on every response, body size limit, per-IP rate limit.

Plain ASGI middleware (no BaseHTTPMiddleware), so streaming and errors pass through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge import playground
from edge.client import client_ip_of
from edge.errors import ApiError, ErrorBody
from edge.middleware import HEADER, request_id_of
from edge.ratelimit import SIGNED_WEBHOOK_SUFFIXES, enforce

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The interactive docs (edge.playground) load Swagger UI from packaged assets: no CDN, no
# inline script, nothing but this origin.
DOCS_CSP = playground.CSP
STATIC_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
# Probes and metrics are not limited when orchestrators poll them directly (/ready answers
# from a cache, /metrics needs its token or loopback); inside a batch they count like
# everything else.
UNLIMITED_SUFFIXES = ("/health", "/ready", "/metrics")
SUB_REQUEST = b"x-flagship-batch-sub-request"  # edge.routers.batch marks its sub-requests


async def send_error(scope: Scope, send: Send, error: ApiError) -> None:
    request_id = request_id_of(scope)
    body = ErrorBody(
        code=error.code, message=error.message, details=error.details, request_id=request_id
    )
    payload = json.dumps(body.model_dump()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if request_id:
        headers.append((HEADER.encode(), request_id.encode()))
    for name, value in (error.headers or {}).items():
        headers.append((name.lower().encode(), value.encode()))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, docs_prefix: str) -> None:
        self.app = app
        self.docs_prefix = docs_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"].startswith(self.docs_prefix) else API_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in STATIC_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", csp)
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimitMiddleware:
    """413 for a body over `limit` bytes: by Content-Length up front, or while reading."""

    def __init__(self, app: ASGIApp, limit: int, streamed: Mapping[str, int] | None = None):
        self.app = app
        self.limit = limit
        # Path prefix -> limit for routes that stream their body themselves (uploads): checked
        # by Content-Length here, then by the route while it reads.
        self.streamed = dict(streamed or {})

    def _too_large(self, limit: int) -> ApiError:
        return ApiError(
            413,
            "edge_payload_too_large",
            "The request body is too large.",
            {"limit_bytes": limit},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = next(
            (n for prefix, n in self.streamed.items() if scope["path"].startswith(prefix)), None
        )
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None or limit is not None:
            try:
                too_large = int(length or 0) > (limit or self.limit)
            except ValueError:
                await send_error(scope, send, ApiError(400, "bad_request", "Bad Content-Length."))
                return
            if too_large:
                await send_error(scope, send, self._too_large(limit or self.limit))
                return
            await self.app(scope, receive, send)
            return
        # No length (chunked): read the body here, bounded, then replay it.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await send_error(scope, send, self._too_large(self.limit))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class IpRateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter, rule: tuple[int, float]) -> None:
        self.app = app
        self.limiter = limiter
        self.rule = rule

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sub_request = any(name == SUB_REQUEST for name, _ in scope["headers"])
        # signed webhooks are limited by their routes, per verified source (limit_signed)
        if scope["path"].endswith(UNLIMITED_SUFFIXES + SIGNED_WEBHOOK_SUFFIXES) and not (
            sub_request
        ):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client_ip_of(scope) or (client[0] if client else "unknown")
        try:
            enforce(self.limiter, f"ip:{ip}", self.rule)
        except ApiError as error:
            await send_error(scope, send, error)
            return
        await self.app(scope, receive, send)
