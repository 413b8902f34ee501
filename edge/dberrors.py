"""Database errors → the edge's error shape, with the status PostgREST would give.

SQL raises API errors through private.raise_error: the stable code in the hint, JSON details
in the detail field, and a SQLSTATE that says the status (PTnnn → nnn, 42501 → 401/403,
22xxx → 400, 23505/23503 → 409). Anything else is not the caller's fault: a 500.
"""

from __future__ import annotations

import json

import psycopg

from edge.errors import ApiError

UNAUTHENTICATED_CODES = ("not_authenticated",)


def status_for(sqlstate: str | None, code: str) -> int:
    if not sqlstate:
        return 500
    if sqlstate.startswith("PT") and sqlstate[2:].isdigit():
        return int(sqlstate[2:])
    if sqlstate == "42501":
        return 401 if code in UNAUTHENTICATED_CODES or code.startswith("edge_api_key") else 403
    if sqlstate.startswith("22") or sqlstate == "P0001":
        return 400
    if sqlstate in ("23505", "23503"):
        return 409
    if sqlstate in ("42883", "42P01"):
        return 404
    if sqlstate == "57014":
        return 503
    return 500


def to_api_error(exc: psycopg.Error) -> ApiError | None:
    """The API error an RPC raised, or None when the failure is not an API error."""
    diag = exc.diag
    code = diag.message_hint
    if not code or not code.replace("_", "").isalnum():
        return None
    status = status_for(diag.sqlstate, code)
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
