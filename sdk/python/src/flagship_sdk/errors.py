"""Typed exceptions: one class per error family, the platform's code as an attribute.

Every Flagship surface answers an error with a stable code (the vocabulary of
`api.ops_error_codes`), a human message and JSON details: `/rest/v1` carries the code in
PostgREST's `hint` (and the SQLSTATE in `code`), `/functions/v1` in `code`, `/auth/v1` in
`error_code`. `from_response` turns any of them into the exception of its family, so callers
catch a family (`NotFoundError`) and branch on `err.code` when they need the exact reason.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "AuthError",
    "ConflictError",
    "FlagshipError",
    "InvalidArgumentError",
    "NotAuthenticatedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RefusedError",
    "ResponseShapeError",
    "ServerError",
    "error_for",
]


class FlagshipError(Exception):
    """An error answered by the platform (or the SDK's own, with `status` None)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: Any = None,
        sqlstate: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" + (f" (HTTP {status})" if status else ""))
        self.code = code
        self.message = message
        self.status = status
        self.details = details
        self.sqlstate = sqlstate
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r})"


class InvalidArgumentError(FlagshipError):
    """Bad input (400, 422): `invalid_argument`, `text_too_long`, `<domain>_…`."""


class NotAuthenticatedError(FlagshipError):
    """No caller, or a refused credential (401): `not_authenticated`, `edge_token_*`,
    `edge_api_key_*`."""


class PermissionDeniedError(FlagshipError):
    """The caller lacks a privilege or, with an API key, the object's scope (403, SQLSTATE
    42501): `forbidden`, `scope_missing`."""

    @property
    def scope(self) -> str | None:
        """The scope the key lacked (`scope_missing`); None when no scope opens the object."""
        return self.details.get("scope") if isinstance(self.details, dict) else None

    @property
    def object(self) -> str | None:
        """The api object the key was refused (`scope_missing`)."""
        return self.details.get("object") if isinstance(self.details, dict) else None


class RefusedError(FlagshipError):
    """A domain rule refuses the call now (403, SQLSTATE PT403): banned, closed, not
    registered…"""


class NotFoundError(FlagshipError):
    """Not found or not visible to the caller (404, also 405 for an unknown method)."""


class ConflictError(FlagshipError):
    """Conflicts with the current state (409): `conflict`, `*_already_*`."""


class PayloadTooLargeError(FlagshipError):
    """The body is over the limit (413)."""


class RateLimitedError(FlagshipError):
    """Too many calls (429); `retry_after` is the number of seconds to wait."""

    @property
    def retry_after(self) -> float | None:
        value = self.details.get("retry_after") if isinstance(self.details, dict) else None
        return float(value) if isinstance(value, int | float) else None


class ServerError(FlagshipError):
    """The platform's fault or a dependency down (5xx, or no answer at all: status None)."""


class AuthError(FlagshipError):
    """Supabase Auth (`/auth/v1`) refused: `invalid_credentials`, `email_not_confirmed`,
    `weak_password`, `user_already_exists`…"""


class ResponseShapeError(FlagshipError):
    """A response does not fit the SDK's model of it (the SDK is older than the server, or
    the server broke its declared result shape)."""


UNAUTHENTICATED_PREFIXES = ("edge_api_key_", "edge_token_")
_BY_STATUS: dict[int, type[FlagshipError]] = {
    400: InvalidArgumentError,
    401: NotAuthenticatedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: InvalidArgumentError,
    429: RateLimitedError,
}


def error_for(
    status: int | None,
    code: str,
    message: str,
    *,
    details: Any = None,
    sqlstate: str | None = None,
    request_id: str | None = None,
) -> FlagshipError:
    """The exception of the family that `status` (and the SQLSTATE, for 403) names; a
    refused credential is `NotAuthenticatedError` whatever the status (PostgREST answers 403
    for a signed-in role, the edge 401)."""
    if code == "not_authenticated" or code.startswith(UNAUTHENTICATED_PREFIXES):
        cls: type[FlagshipError] = NotAuthenticatedError
    elif status == 403 and sqlstate == "PT403":
        cls = RefusedError
    elif status is None or status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, InvalidArgumentError if status < 500 else ServerError)
    return cls(
        code,
        message,
        status=status,
        details=_parse_details(details),
        sqlstate=sqlstate,
        request_id=request_id,
    )


def _parse_details(details: Any) -> Any:
    """PostgREST sends `details` as text: the platform's JSON details, or plain text."""
    if isinstance(details, str):
        try:
            return json.loads(details)
        except ValueError:
            return details
    return details
