"""Supabase Auth's error bodies, in both API versions.

Without `X-Supabase-Api-Version` (or before 2024-01-01) an error is
`{"code": <http status>, "error_code": "<code>", "msg": "<message>"}`; with a version of
2024-01-01 or later (supabase-js and supabase-py send it) it is
`{"code": "<code>", "message": "<message>"}` and the response echoes the version header.
Both carry `x-sb-error-code`. Weak passwords add `"weak_password": {"reasons": [...]}`.
(Current Supabase Auth answers /token failures in these shapes too; its OAuth-style
`{"error", "error_description"}` remains only for OAuth-server flows, not served here.)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION_2024 = "2024-01-01"


class AuthError(Exception):
    """An error Supabase Auth would answer with, by status, error code and message."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


def bad_request(code: str, message: str) -> AuthError:
    return AuthError(400, code, message)


def validation(message: str) -> AuthError:
    return AuthError(400, "validation_failed", message)


def unprocessable(code: str, message: str) -> AuthError:
    return AuthError(422, code, message)


def forbidden(code: str, message: str) -> AuthError:
    return AuthError(403, code, message)


def not_found(code: str, message: str) -> AuthError:
    return AuthError(404, code, message)


def too_many(code: str, message: str) -> AuthError:
    return AuthError(429, code, message)


def api_version(request: Request) -> str | None:
    """'2024-01-01' when the request asks for that API version or a later one."""
    value = request.headers.get(API_VERSION_HEADER, "")
    if len(value) == 10 and value[4] == "-" and value[7] == "-" and value >= API_VERSION_2024:
        return API_VERSION_2024
    return None


def error_response(request: Request, error: AuthError) -> JSONResponse:
    version = api_version(request)
    headers = {"x-sb-error-code": error.error_code, **error.headers}
    if version:
        body: dict[str, Any] = {"code": error.error_code, "message": error.message}
        headers[API_VERSION_HEADER] = version
    else:
        body = {"code": error.status, "error_code": error.error_code, "msg": error.message}
    body.update(error.extra)
    return JSONResponse(body, status_code=error.status, headers=headers)
