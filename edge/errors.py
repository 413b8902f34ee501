"""One error shape for every failure: `{code, message, details, request_id}`.

`code` is a stable machine-readable string (the same vocabulary as `api.ops_error_codes` where
the meaning is the same), `message` is for humans, `details` is an object or null, and
`request_id` matches the `X-Request-Id` response header so a report can be traced in logs.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from edge.api_error import ApiError
from edge.db import connection_lost
from edge.dberrors import to_api_error
from edge.middleware import HEADER, request_id_of
from flagship.logs import logger

__all__ = ["STATUS_CODES", "ApiError", "ErrorBody", "error_response", "install"]
log = logger("edge.errors")

# Codes for errors raised by the framework itself (routing, validation, HTTPException).
STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_argument",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    """The body of every error response."""

    code: str
    message: str
    details: dict[str, Any] | None = None
    request_id: str | None = None


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    request_id = request_id_of(request.scope)
    body = ErrorBody(code=code, message=message, details=details, request_id=request_id)
    headers = dict(headers or {})
    if request_id:
        headers[HEADER] = request_id  # the 500 handler runs outside the request-id middleware
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _code_for(status: int) -> str:
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return f"http_{status}"


async def api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(request, exc.status, exc.code, exc.message, exc.details, exc.headers)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if isinstance(exc.detail, str):
        message, details = exc.detail, None
    else:
        message, details = HTTPStatus(exc.status_code).phrase, {"detail": exc.detail}
    return error_response(
        request, exc.status_code, _code_for(exc.status_code), message, details, exc.headers
    )


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return error_response(
        request, 422, "invalid_argument", "The request is invalid.", {"errors": problems}
    )


async def pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    log.warning(
        "no database connection within the pool timeout", request_id=request_id_of(request.scope)
    )
    return error_response(
        request,
        503,
        "database_unavailable",
        "The database is not reachable; try again.",
        headers={"Retry-After": "5"},
    )


async def unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    # The server logs the traceback (the exception is re-raised after this response); this
    # line ties it to the request id the caller sees.
    log.error(
        "unhandled error",
        error=type(exc).__name__,
        method=request.method,
        path=request.url.path,
        request_id=request_id_of(request.scope),
    )
    return error_response(request, 500, "internal_error", "Something went wrong on our side.")


async def database_error(request: Request, exc: Exception) -> JSONResponse:
    """An API error raised in SQL (code in the hint) keeps its code and status; a lost
    connection is 503 `database_unavailable`, a statement past its timeout 504
    `database_timeout`; others 500."""
    if connection_lost(exc):
        log.warning("database connection lost", request_id=request_id_of(request.scope))
        return error_response(
            request,
            503,
            "database_unavailable",
            "The database is not reachable; try again.",
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, psycopg.errors.QueryCanceled):
        log.warning("statement timeout", request_id=request_id_of(request.scope))
        return error_response(
            request,
            504,
            "database_timeout",
            "The database did not answer within the time limit; try again later.",
        )
    caller = getattr(request.state, "caller", None)
    anonymous = None if caller is None else caller.role == "anon"
    mapped = to_api_error(exc, anonymous=anonymous)  # type: ignore[arg-type]
    if mapped is None:
        return await unhandled_error(request, exc)
    return await api_error(request, mapped)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(PoolTimeout, pool_timeout)
    app.add_exception_handler(psycopg.Error, database_error)
    app.add_exception_handler(Exception, unhandled_error)
