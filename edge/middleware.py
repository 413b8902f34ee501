"""Request ids: every response carries `X-Request-Id`, and every error body repeats it."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
# A caller's id is kept only when it is short and plain, so it is safe in logs, headers and
# the database (ops.audit_log); anything else is replaced by a generated one.
MAX_LENGTH = 64
ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_of(scope: Scope) -> str | None:
    return scope.get("state", {}).get("request_id")


class RequestIdMiddleware:
    """Reuse the caller's `X-Request-Id` (a proxy's or the frontend's), or mint one.

    Plain ASGI rather than BaseHTTPMiddleware: it only touches the scope and the response
    start, so streaming and exceptions pass through unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Mounted behind the gateway, the gateway's middleware already chose the id.
        request_id = request_id_of(scope)
        if request_id is None:
            incoming = Headers(scope=scope).get(HEADER, "")
            request_id = incoming if ACCEPTED.match(incoming) else uuid.uuid4().hex
            scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if HEADER not in headers:
                    headers.append(HEADER, request_id)
            await send(message)

        await self.app(scope, receive, send_with_id)
