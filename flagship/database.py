"""Connections, and the one helper that runs SQL as an API caller the way PostgREST does.

`as_caller` is used by the edge service, the CLI and the tests alike: one transaction, the
caller's role, `request.jwt.claims` and the request GUCs, so RLS and `auth.uid()` see
exactly what they would see behind PostgREST — including PostgREST's db-pre-request function
(`pgrst.db_pre_request` on the authenticator role), which refuses API key tokens that lack
the scope of the object named by `path`.
"""

from __future__ import annotations

import functools
import json
import os
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, nullcontext
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

API_ROLES = frozenset({"anon", "authenticated", "service_role"})
API_SEARCH_PATH = "api, public, extensions"
# The one header SQL reads the client's address from (private.ctf_client_ip). Only the
# edge/gateway set it, through `client_ip=` below; a client-supplied one is always dropped.
CLIENT_IP_HEADER = "x-flagship-client-ip"
# Per connection: the pre-request function PostgREST would run there (None: none configured).
_PRE_REQUEST: weakref.WeakKeyDictionary[
    psycopg.Connection | psycopg.AsyncConnection, str | None
] = weakref.WeakKeyDictionary()


def pooled() -> bool:
    """Whether DATABASE_URL is a transaction pooler (PgBouncer, Supavisor's port 6543).

    Declared by setting DATABASE_DIRECT_URL, the server's own address: then connections to
    DATABASE_URL keep no session state beyond the transaction (no prepared statements —
    each transaction may land on another server connection — no LISTEN, no session advisory
    locks), and what needs a session (LISTEN) opens `direct_url(...)` instead.
    """
    return bool(os.environ.get("DATABASE_DIRECT_URL"))


def pool_kwargs() -> dict[str, Any]:
    """Connection arguments for the services' connections: behind a transaction pooler,
    psycopg must never prepare statements (`prepare_threshold=None`)."""
    return {"prepare_threshold": None} if pooled() else {}


def direct_url(url: str) -> str:
    """Where a session-bound connection (LISTEN) to the database of `url` goes:
    DATABASE_DIRECT_URL's server and user with `url`'s database name; `url` itself when no
    pooler is declared."""
    direct = os.environ.get("DATABASE_DIRECT_URL")
    if not direct:
        return url
    from urllib.parse import urlsplit, urlunsplit

    target = urlsplit(direct)
    dbname = urlsplit(url).path if url.startswith("postgres") else target.path
    return urlunsplit((target.scheme, target.netloc, dbname or target.path, target.query, ""))


def connect(url: str, *, autocommit: bool = False, **kwargs: Any) -> psycopg.Connection:
    """Open a connection with dict rows (the shape the API returns); without prepared
    statements behind a transaction pooler."""
    kwargs = {**pool_kwargs(), **kwargs}
    return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row, **kwargs)


def pre_request_function(conn: psycopg.Connection) -> str | None:
    """The function named by `pgrst.db_pre_request` on the authenticator role, if it exists
    in this database (read once per connection, as PostgREST reads it once per config load)."""
    if conn in _PRE_REQUEST:
        return _PRE_REQUEST[conn]
    fn = read_pre_request(conn)
    _PRE_REQUEST[conn] = fn
    return fn


# `pgrst.db_pre_request` on the authenticator role, resolved to the function as regproc
# text. Through pg_proc rather than to_regproc(), which needs USAGE on the schema (the
# gateway reads this as `authenticator`, which has none on `private`).
PRE_REQUEST_SQL = """
with setting as (
    select split_part(c, '=', 2) as value
    from pg_db_role_setting as s, unnest(s.setconfig) as c
    where s.setrole = (select oid from pg_roles where rolname = 'authenticator')
      and s.setdatabase in
          (0, (select oid from pg_database where datname = current_database()))
      and split_part(c, '=', 1) = 'pgrst.db_pre_request'
    order by s.setdatabase desc
    limit 1
)
select p.oid::regproc::text as fn
from setting
join pg_namespace as n on n.nspname = case
    when position('.' in setting.value) > 0 then split_part(setting.value, '.', 1)
    else 'public' end
join pg_proc as p on p.pronamespace = n.oid and p.pronargs = 0 and p.proname = case
    when position('.' in setting.value) > 0 then split_part(setting.value, '.', 2)
    else setting.value end
limit 1
"""


def _pre_request_of(row: Any) -> str | None:
    return (row["fn"] if isinstance(row, dict) else row[0]) if row else None


def read_pre_request(conn: psycopg.Connection) -> str | None:
    """`pgrst.db_pre_request` of the authenticator role, read now (the gateway's schema
    cache reads it on every reload): the function as regproc text, None without one."""
    return _pre_request_of(conn.execute(PRE_REQUEST_SQL).fetchone())


# `as_caller(pre_request=DISCOVER)`: look the function up on the connection (the default).
DISCOVER = "discover"


@functools.lru_cache(maxsize=64)
def _settings_query(role_settings: tuple[tuple[str, str], ...]) -> str:
    """The settings statement for these role settings, composed once (it is sent on every
    request; composing it each time was a few percent of an edge request's CPU)."""
    extra = sql.SQL("").join(
        sql.SQL(", set_config({}, {}, true)").format(sql.Literal(k), sql.Literal(v))
        for k, v in role_settings
    )
    return (
        sql.SQL(
            "select set_config('search_path', %(search_path)s, true),"
            " set_config('role', %(role)s, true),"
            " set_config('request.jwt.claims', %(claims)s, true),"
            " set_config('request.method', %(method)s, true),"
            " set_config('request.path', %(path)s, true),"
            " set_config('request.headers', %(headers)s, true),"
            " set_config('request.cookies', %(cookies)s, true){}"
        )
        .format(extra)
        .as_string()
    )


class _CallerStatements:
    """What `as_caller` sends, built once for the sync and the async runner alike."""

    def __init__(
        self,
        claims: Mapping[str, Any] | None,
        *,
        method: str = "POST",
        path: str = "",
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        search_path: str = API_SEARCH_PATH,
        role_settings: Mapping[str, str] | None = None,
        client_ip: str | None = None,
    ) -> None:
        claims = dict(claims or {"role": "anon"})
        role = claims.setdefault("role", "anon")
        if role not in API_ROLES:
            raise ValueError(f"not an API role: {role!r}")
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        lowered.pop(CLIENT_IP_HEADER, None)
        if client_ip:
            lowered[CLIENT_IP_HEADER] = client_ip
        self.settings = _settings_query(tuple((role_settings or {}).items()))
        self.params = {
            "search_path": search_path,
            "role": role,
            "claims": json.dumps(claims),
            "method": method,
            "path": path,
            "headers": json.dumps(lowered),
            "cookies": json.dumps(dict(cookies or {})),
        }

    @staticmethod
    @functools.lru_cache(maxsize=16)
    def pre_request(fn: str) -> str:
        # regproc text: quoted by Postgres where the name needs it.
        return sql.SQL("select {}()").format(sql.SQL(fn)).as_string()

    @staticmethod
    def check_transaction(conn: psycopg.Connection | psycopg.AsyncConnection) -> None:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE and conn.autocommit:
            raise RuntimeError("as_caller needs a transaction (autocommit is on)")

    @staticmethod
    def in_pipeline(conn: psycopg.Connection | psycopg.AsyncConnection) -> bool:
        return conn.pgconn.pipeline_status != psycopg.pq.PipelineStatus.OFF

    @staticmethod
    def needs_reset(conn: psycopg.Connection | psycopg.AsyncConnection, reset: bool) -> bool:
        return reset and conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS


RESET_SQL = (
    "select set_config('request.jwt.claims', '', true),"
    " set_config('request.headers', '', true),"
    " set_config('search_path', 'public, extensions', true)"
)


@contextmanager
def as_caller(
    conn: psycopg.Connection,
    claims: Mapping[str, Any] | None,
    *,
    pre_request: str | None = DISCOVER,
    reset: bool = True,
    **request: Any,
) -> Iterator[psycopg.Connection]:
    """Run the block as the API caller described by `claims` (None means anonymous).

    `request` is the request's description, all optional: `method` (POST), `path` (empty),
    `headers`, `cookies`, `search_path` (the API's), `role_settings`, `client_ip`.

    Must be used inside a transaction; the settings are transaction-local. As PostgREST
    does, one statement sets the search path, the role, `request.jwt.claims`,
    `request.method`, `request.path`, `request.headers`, `request.cookies` and the role's
    own settings (`role_settings`, e.g. its statement_timeout, which SET ROLE alone would
    not apply); the pre-request function runs last — the one the database names
    (`pgrst.db_pre_request` on the authenticator role, looked up once per connection), or
    `pre_request` when the caller already knows it (the gateway's schema cache; None: none).
    `path` is the PostgREST path (`/rpc/<fn>`, `/<view>`) or an edge route; empty means
    SQL run directly (then only the checks inside the functions apply). With `reset` (the
    default) the settings are reset on exit so that one test transaction can act as several
    callers in turn; the gateway, which commits right after, skips that. `client_ip` is the
    address the service resolved (trusted proxies only); it reaches SQL as the
    `x-flagship-client-ip` request header, which callers cannot set themselves.
    """
    statements = _CallerStatements(claims, **request)
    statements.check_transaction(conn)
    if pre_request == DISCOVER:
        pre_request = pre_request_function(conn)
    # One round trip: the settings, then the pre-request function, pipelined (unless the
    # caller runs a pipeline already, as the gateway does). Two statements, not one: the
    # pre-request's name is resolved as the role the settings made (the authenticator
    # itself may not look into the function's schema).
    with nullcontext() if statements.in_pipeline(conn) else conn.pipeline():
        conn.execute(statements.settings, statements.params)
        if pre_request is not None:
            conn.execute(statements.pre_request(pre_request))
    try:
        yield conn
    finally:
        if statements.needs_reset(conn, reset):
            conn.execute("reset role")
            conn.execute(RESET_SQL)


@asynccontextmanager
async def as_caller_async(
    conn: psycopg.AsyncConnection,
    claims: Mapping[str, Any] | None,
    *,
    pre_request: str | None = DISCOVER,
    reset: bool = True,
    **request: Any,
) -> AsyncIterator[psycopg.AsyncConnection]:
    """`as_caller` on an async connection (the edge's pool): the same statements (`request`
    takes as_caller's method, path, headers, cookies, search_path, role_settings and
    client_ip), the same pre-request discovery (once per connection) and the same reset."""
    statements = _CallerStatements(claims, **request)
    statements.check_transaction(conn)
    if pre_request == DISCOVER:
        if conn not in _PRE_REQUEST:
            cursor = await conn.execute(PRE_REQUEST_SQL)
            _PRE_REQUEST[conn] = _pre_request_of(await cursor.fetchone())
        pre_request = _PRE_REQUEST[conn]
    async with nullcontext() if statements.in_pipeline(conn) else conn.pipeline():
        await conn.execute(statements.settings, statements.params)
        if pre_request is not None:
            await conn.execute(statements.pre_request(pre_request))
    try:
        yield conn
    finally:
        if statements.needs_reset(conn, reset):
            await conn.execute("reset role")
            await conn.execute(RESET_SQL)
