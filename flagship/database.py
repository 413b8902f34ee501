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
# The one header SQL reads the client's address from (private.ctf_client_ip). Only the
# edge/gateway set it, through `client_ip=` below; a client-supplied one is always dropped.
CLIENT_IP_HEADER = "x-flagship-client-ip"


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
    client_ip: str | None = None,
) -> Iterator[psycopg.Connection]:
    """Run the block as the API caller described by `claims` (None means anonymous).

    `client_ip` is the address the service resolved (trusted proxies only); it reaches SQL
    as the `x-flagship-client-ip` request header, which callers cannot set themselves.
    Must be used inside a transaction; the settings are transaction-local, and are reset on
    exit so that one test transaction can act as several callers in turn.
    """
    claims = dict(claims or {"role": "anon"})
    role = claims.setdefault("role", "anon")
    if role not in API_ROLES:
        raise ValueError(f"not an API role: {role!r}")
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    lowered.pop(CLIENT_IP_HEADER, None)
    if client_ip:
        lowered[CLIENT_IP_HEADER] = client_ip
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
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
    try:
        yield conn
    finally:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            conn.execute("reset role")
            conn.execute(
                "select set_config('request.jwt.claims', '', true),"
                " set_config('request.headers', '', true),"
                " set_config('search_path', 'public, extensions', true)"
            )
