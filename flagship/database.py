"""Connections, and the one helper that runs SQL as an API caller the way PostgREST does.

`as_caller` is used by the edge service, the CLI and the tests alike: one transaction, the
caller's role, `request.jwt.claims` and the request GUCs, so RLS and `auth.uid()` see
exactly what they would see behind PostgREST.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

API_ROLES = frozenset({"anon", "authenticated", "service_role"})
API_SEARCH_PATH = "api, public, extensions"


def connect(url: str, *, autocommit: bool = False, **kwargs: Any) -> psycopg.Connection:
    """Open a connection with dict rows (the shape the API returns)."""
    return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row, **kwargs)


@contextmanager
def as_caller(
    conn: psycopg.Connection,
    claims: Mapping[str, Any] | None,
    *,
    method: str = "POST",
    path: str = "/rpc",
    headers: Mapping[str, str] | None = None,
    cookies: Mapping[str, str] | None = None,
    search_path: str = API_SEARCH_PATH,
    role_settings: Mapping[str, str] | None = None,
    pre_request: tuple[str, str] | None = None,
    reset: bool = True,
) -> Iterator[psycopg.Connection]:
    """Run the block as the API caller described by `claims` (None means anonymous).

    Must be used inside a transaction; the settings are transaction-local. As PostgREST
    does, one statement sets the search path, the role, `request.jwt.claims`,
    `request.method`, `request.path`, `request.headers`, `request.cookies` and the role's
    own settings (`role_settings`, e.g. its statement_timeout, which SET ROLE alone would
    not apply); then the pre-request function `(schema, name)` runs if one is given. With
    `reset` (the default) the settings are reset on exit so that one test transaction can
    act as several callers in turn; the gateway, which commits right after, skips it.
    """
    claims = dict(claims or {"role": "anon"})
    role = claims.setdefault("role", "anon")
    if role not in API_ROLES:
        raise ValueError(f"not an API role: {role!r}")
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE and conn.autocommit:
        raise RuntimeError("as_caller needs a transaction (autocommit is on)")
    extra = sql.SQL("").join(
        sql.SQL(", set_config({}, {}, true)").format(sql.Literal(k), sql.Literal(v))
        for k, v in (role_settings or {}).items()
    )
    conn.execute(
        sql.SQL(
            "select set_config('search_path', %(search_path)s, true),"
            " set_config('role', %(role)s, true),"
            " set_config('request.jwt.claims', %(claims)s, true),"
            " set_config('request.method', %(method)s, true),"
            " set_config('request.path', %(path)s, true),"
            " set_config('request.headers', %(headers)s, true),"
            " set_config('request.cookies', %(cookies)s, true){}"
        ).format(extra),
        {
            "search_path": search_path,
            "role": role,
            "claims": json.dumps(claims),
            "method": method,
            "path": path,
            "headers": json.dumps(lowered),
            "cookies": json.dumps(dict(cookies or {})),
        },
    )
    if pre_request is not None:
        conn.execute(sql.SQL("select {}.{}()").format(*map(sql.Identifier, pre_request)))
    try:
        yield conn
    finally:
        if reset and conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            conn.execute("reset role")
            conn.execute(
                "select set_config('request.jwt.claims', '', true),"
                " set_config('request.headers', '', true),"
                " set_config('search_path', 'public, extensions', true)"
            )
