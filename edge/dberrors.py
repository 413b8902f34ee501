"""Database errors → the edge's error shape, with the status PostgREST would give.

SQL raises API errors through private.raise_error: the stable code in the hint, JSON details
in the detail field, and a SQLSTATE that says the status. `status_for` is PostgREST's table
(docs: "Errors" → SQLSTATE to HTTP status), the one mapping every edge module uses:
PTnnn → nnn, 42501 → 401 anonymous / 403 otherwise, 23505/23503 → 409, P0001 → 400,
42883/42P01 → 404, 08*/53* → 503, any other class the table does not name → 400. An error
whose status is 5xx, or without a code in its hint, is not the caller's fault: a 500.
"""

from __future__ import annotations

import json

import psycopg

from edge.api_error import ApiError

# Codes that mean "who are you?" even when the statement ran as a non-anonymous role (the
# API key check runs as service_role before the caller is known).
UNAUTHENTICATED_CODES = ("not_authenticated",)
UNAUTHENTICATED_PREFIXES = ("edge_api_key",)

EXACT = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "P0001": 400,
    "42883": 404,
    "42P01": 404,
    "42P17": 500,
}
BY_CLASS = {
    "08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500, "38": 500,
    "39": 500, "3B": 500, "40": 500, "53": 503, "54": 413, "55": 500, "57": 500, "58": 500,
    "F0": 500, "HV": 500, "P0": 500, "XX": 500,
}  # fmt: skip


def status_for(sqlstate: str | None, code: str = "", *, anonymous: bool | None = None) -> int:
    """The HTTP status of a SQL error (PostgREST's mapping)."""
    if not sqlstate:
        return 500
    if sqlstate.startswith("PT") and sqlstate[2:].isdigit():
        return int(sqlstate[2:])
    if sqlstate == "42501":
        if anonymous or code in UNAUTHENTICATED_CODES or code.startswith(UNAUTHENTICATED_PREFIXES):
            return 401
        return 403
    if sqlstate in EXACT:
        return EXACT[sqlstate]
    return BY_CLASS.get(sqlstate[:2], 400)


def to_api_error(exc: psycopg.Error, *, anonymous: bool | None = None) -> ApiError | None:
    """The API error an RPC raised, or None when the failure is not an API error."""
    if isinstance(exc, psycopg.DataError) and exc.sqlstate is None:
        # raised by the driver before sending: a NUL byte in a text argument
        return ApiError(
            400, "invalid_argument", "Text may not contain NUL (0x00) characters.", None, None
        )
    diag = exc.diag
    code = diag.message_hint
    if not code or not code.replace("_", "").isalnum():
        return None
    status = status_for(diag.sqlstate, code, anonymous=anonymous)
    if status >= 500:
        return None
    try:
        details = json.loads(diag.message_detail) if diag.message_detail else None
    except ValueError:
        details = None
    headers = None
    if status == 429 and isinstance(details, dict) and "retry_after" in details:
        headers = {"Retry-After": str(details["retry_after"])}
    return ApiError(
        status,
        code,
        diag.message_primary or code,
        details if isinstance(details, dict) else None,
        headers,
    )


def raise_mapped(exc: psycopg.Error, *, anonymous: bool | None = None) -> None:
    """Re-raise `exc` as its API error when it is one, else as itself."""
    mapped = to_api_error(exc, anonymous=anonymous)
    if mapped is None:
        raise exc
    raise mapped from None
