"""Connections, and the one helper that runs SQL as an API caller the way PostgREST does.

`as_caller` is used by the edge service, the CLI and the tests alike: one transaction, the
caller's role, `request.jwt.claims` and the request GUCs, so RLS and `auth.uid()` see
exactly what they would see behind PostgREST — including PostgREST's db-pre-request function
(`pgrst.db_pre_request` on the authenticator role), which refuses API key tokens that lack
the scope of the object named by `path`.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

API_ROLES = frozenset({"anon", "authenticated", "service_role"})
API_SEARCH_PATH = "api, public, extensions"
# Per connection: the pre-request function PostgREST would run there (None: none configured).
_PRE_REQUEST: weakref.WeakKeyDictionary[psycopg.Connection, str | None] = (
    weakref.WeakKeyDictionary()
)


def connect(url: str, *, autocommit: bool = False, **kwargs: Any) -> psycopg.Connection:
    """Open a connection with dict rows (the shape the API returns)."""
    return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row, **kwargs)


def pre_request_function(conn: psycopg.Connection) -> str | None:
    """The function named by `pgrst.db_pre_request` on the authenticator role, if it exists
    in this database (read once per connection, as PostgREST reads it once per config load)."""
    if conn in _PRE_REQUEST:
        return _PRE_REQUEST[conn]
    row = conn.execute(
        """
        select to_regproc(split_part(c, '=', 2))::text as fn
        from pg_db_role_setting as s, unnest(s.setconfig) as c
        where s.setrole = (select oid from pg_roles where rolname = 'authenticator')
          and s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
          and split_part(c, '=', 1) = 'pgrst.db_pre_request'
        order by s.setdatabase desc
        limit 1
        """
    ).fetchone()
    fn = (row["fn"] if isinstance(row, dict) else row[0]) if row else None
    _PRE_REQUEST[conn] = fn
    return fn


@contextmanager
def as_caller(
    conn: psycopg.Connection,
    claims: Mapping[str, Any] | None,
    *,
    method: str = "POST",
    path: str = "",
    headers: Mapping[str, str] | None = None,
) -> Iterator[psycopg.Connection]:
    """Run the block as the API caller described by `claims` (None means anonymous).

    Must be used inside a transaction; the settings are transaction-local, and are reset on
    exit so that one test transaction can act as several callers in turn. `path` is the
    PostgREST path (`/rpc/<fn>`, `/<view>`) or an edge route; empty means SQL run directly
    (then only the checks inside the functions apply). The pre-request function runs last.
    """
    claims = dict(claims or {"role": "anon"})
    role = claims.setdefault("role", "anon")
    if role not in API_ROLES:
        raise ValueError(f"not an API role: {role!r}")
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE and conn.autocommit:
        raise RuntimeError("as_caller needs a transaction (autocommit is on)")
    conn.execute(
        """
        select set_config('search_path', %(search_path)s, true),
               set_config('request.jwt.claims', %(claims)s, true),
               set_config('request.method', %(method)s, true),
               set_config('request.path', %(path)s, true),
               set_config('request.headers', %(headers)s, true),
               set_config('request.cookies', '{}', true)
        """,
        {
            "search_path": API_SEARCH_PATH,
            "claims": json.dumps(claims),
            "method": method,
            "path": path,
            "headers": json.dumps(lowered),
        },
    )
    pre_request = pre_request_function(conn)
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
    try:
        if pre_request is not None:
            conn.execute(sql.SQL("select {}()").format(sql.SQL(pre_request)))
        yield conn
    finally:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            conn.execute("reset role")
            conn.execute(
                "select set_config('request.jwt.claims', '', true),"
                " set_config('request.headers', '', true),"
                " set_config('search_path', 'public, extensions', true)"
            )
