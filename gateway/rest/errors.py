"""PostgREST's error body `{code, message, details, hint}` and its HTTP status rules."""

from __future__ import annotations

import json
from typing import Any

import psycopg


class PgrstError(Exception):
    """An error answered with PostgREST's body; `code` is a PGRSTxxx or a SQLSTATE."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        hint: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = headers or {}

    def body(self) -> bytes:
        return json.dumps(
            {
                "code": self.code,
                "details": self.details,
                "hint": self.hint,
                "message": self.message,
            },
            separators=(",", ":"),
        ).encode()


def parse_error(message: str, details: str) -> PgrstError:
    """PGRST100: the query string could not be parsed."""
    return PgrstError(400, "PGRST100", message, details)


def status_for(sqlstate: str, message: str, authenticated: bool) -> int:
    """PostgREST's SQLSTATE → HTTP status table (docs "Errors", src Error.hs)."""
    exact = {
        "23503": 409,
        "23505": 409,
        "25006": 405,
        "53400": 500,
        "57P01": 503,
        "P0001": 400,
        "42P01": 404,
        "42P17": 500,
    }
    if sqlstate in exact:
        return exact[sqlstate]
    if sqlstate == "21000":
        return 400 if message.endswith("requires a WHERE clause") else 500
    if sqlstate == "22023":
        return 401 if message.startswith("role") and message.endswith("does not exist") else 400
    if sqlstate == "42883":
        return 406 if message.startswith("function xmlagg(") else 404
    if sqlstate == "42501":
        return 403 if authenticated else 401
    if sqlstate.startswith("PT"):
        try:
            return int(sqlstate[2:])
        except ValueError:
            return 500
    prefixes = {
        "08": 503,
        "09": 500,
        "0L": 403,
        "0P": 403,
        "25": 500,
        "28": 403,
        "2D": 500,
        "38": 500,
        "39": 500,
        "3B": 500,
        "40": 500,
        "53": 503,
        "54": 500,
        "55": 500,
        "57": 500,
        "58": 500,
        "F0": 500,
        "HV": 500,
        "P0": 500,
        "XX": 500,
    }
    return prefixes.get(sqlstate[:2], 400)


def from_database(exc: psycopg.Error, authenticated: bool) -> PgrstError:
    """A database error as PostgREST forwards it (RAISE SQLSTATE 'PGRST' included)."""
    diag = exc.diag
    sqlstate = diag.sqlstate or "XX000"
    message = diag.message_primary or str(exc).strip()
    details, hint = diag.message_detail, diag.message_hint
    if sqlstate == "PGRST":
        return _raised_pgrst(message, details)
    status = status_for(sqlstate, message, authenticated)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    return PgrstError(status, sqlstate, message, details, hint, headers)


def _raised_pgrst(message: str, details: str | None) -> PgrstError:
    """`raise sqlstate 'PGRST' using message = '{json}', detail = '{status, headers}'`."""
    try:
        body = json.loads(message)
        assert isinstance(body, dict) and "code" in body and "message" in body
    except (ValueError, AssertionError):
        return PgrstError(
            500,
            "PGRST121",
            "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
            f"Invalid JSON value for MESSAGE: '{message}'",
            "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and "
            "optional keys: 'details', 'hint'.",
        )
    try:
        meta = json.loads(details or "")
        status = int(meta["status"])
        headers = {str(k): str(v) for k, v in (meta.get("headers") or {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return PgrstError(
            500,
            "PGRST121",
            "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
            "DETAIL is missing in the RAISE statement"
            if not details
            else f"Invalid JSON value for DETAIL: '{details}'",
            "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and "
            "optional key: 'status_text'.",
        )
    return PgrstError(
        status,
        str(body["code"]),
        str(body["message"]),
        body.get("details"),
        body.get("hint"),
        headers,
    )


def fuzzy_match(name: str, candidates: list[str], cutoff: float = 0.75) -> str | None:
    """The closest candidate (PostgREST's "Perhaps you meant" hints)."""
    import difflib

    found = difflib.get_close_matches(name, candidates, n=1, cutoff=cutoff)
    return found[0] if found else None
