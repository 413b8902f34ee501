"""Test databases: a throw-away server, a migrated template, clones, and users.

The template is migrated once per test session (platform contract, every migration, pgTAP);
each test session works in a clone of it, and each test in a transaction that is rolled
back. Tests that must commit (concurrency, the worker) take a fresh clone of their own.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from flagship import config, migrate, tokens
from flagship.database import as_caller, connect
from flagship.embedded import SUPERUSER, EmbeddedCluster, binary
from flagship.testing import shapes

TEST_DB_PORT = 54329
SQL_TEST_HELPERS = config.ROOT / "sql" / "tests" / "helpers.sql"
TEMPLATE = "flagship_test_template"


class HarnessError(RuntimeError):
    """The test environment could not be prepared."""


def pgtap_sql() -> Path | None:
    """The standalone pgtap.sql shipped by the OS package (or $PGTAP_SQL)."""
    if os.environ.get("PGTAP_SQL"):
        return Path(os.environ["PGTAP_SQL"])
    found = sorted(glob.glob("/usr/share/postgresql/*/extension/pgtap.sql"))
    return Path(found[-1]) if found else None


def with_database(url: str, dbname: str, user: str | None = None) -> str:
    """The same server URL pointing at another database (and optionally another user)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}@{netloc.split('@', 1)[-1]}" if "@" in netloc else f"{user}@{netloc}"
    return urlunsplit((parts.scheme, netloc, f"/{dbname}", parts.query, parts.fragment))


@dataclass
class TestServer:
    """Where test databases are created: a throw-away embedded server or DATABASE_URL."""

    __test__ = False  # a fixture class, not tests

    admin_url: str  # superuser (or the most privileged role we have), maintenance database
    app_user: str | None  # role migrations run as; None means the admin URL's own user
    cluster: EmbeddedCluster | None = None
    databases: list[str] = field(default_factory=list)
    # FLAGSHIP_TEST_POOLER=pgbouncer (the pooler stage): services reach their databases
    # through a PgBouncer in transaction mode started for this process; `app()` is then its
    # URL, `app_direct()` the server's own (migrations, pgTAP, LISTEN).
    pooler: Any = None

    @classmethod
    def start(cls) -> TestServer:
        url = os.environ.get("DATABASE_URL")
        if url:
            server = cls(admin_url=url, app_user=None)
        else:
            cluster = EmbeddedCluster(
                config.STATE_DIR / "test-db", port=TEST_DB_PORT, durable=False
            )
            cluster.start()
            server = cls(cluster.url(user=SUPERUSER, dbname="postgres"), "postgres", cluster)
        if os.environ.get("FLAGSHIP_TEST_POOLER") == "pgbouncer":
            server.start_pooler()
        return server

    def backend(self) -> tuple[str, int]:
        """(host or socket directory, port) of the server, for a pooler in front of it."""
        parts = urlsplit(self.admin_url)
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        host = unquote(query.get("host", parts.hostname or "127.0.0.1"))
        return host, int(query.get("port", parts.port or 5432))

    def start_pooler(self) -> None:
        from flagship.testing.servers import start_pgbouncer

        self.pooler = start_pgbouncer(
            config.STATE_DIR / f"pgbouncer-{os.getpid()}", *self.backend()
        )
        # The services' direct connections (LISTEN) go to the server itself; their pooled
        # ones through PgBouncer, without prepared statements (flagship.database.pooled).
        os.environ["DATABASE_DIRECT_URL"] = self.app_direct("postgres")

    def admin(self, dbname: str) -> str:
        return with_database(self.admin_url, dbname)

    def app_direct(self, dbname: str) -> str:
        return with_database(self.admin_url, dbname, self.app_user)

    def app(self, dbname: str) -> str:
        if self.pooler is not None:
            user = self.app_user or urlsplit(self.admin_url).username or "postgres"
            return self.pooler.url(user, dbname)
        return self.app_direct(dbname)

    def _maintenance(self) -> psycopg.Connection:
        return connect(self.admin_url, autocommit=True)

    def build_template(self) -> None:
        """Create the template: platform, migrations and pgTAP; fails loudly on any error."""
        with self._maintenance() as conn:
            if conn.execute("select 1 from pg_database where datname = %s", (TEMPLATE,)).fetchone():
                conn.execute(
                    sql.SQL("alter database {} is_template false").format(sql.Identifier(TEMPLATE))
                )
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(TEMPLATE))
            )
            conn.execute(
                sql.SQL("create database {} template template0").format(sql.Identifier(TEMPLATE))
            )
        migrate.apply_platform(self.admin(TEMPLATE))
        migrate.migrate(self.app_direct(TEMPLATE))
        self._load_pgtap(TEMPLATE)
        with self._maintenance() as conn:
            conn.execute(
                sql.SQL("alter database {} is_template true").format(sql.Identifier(TEMPLATE))
            )

    def _load_pgtap(self, dbname: str) -> None:
        path = pgtap_sql()
        if path is None or not path.exists():
            return  # reported by each pgTAP file, with the remedy
        result = subprocess.run(
            [
                binary("psql"),
                self.admin(dbname),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                "set search_path = extensions",
                "-f",
                str(path),
                "-c",
                "reset search_path",
                "-f",
                str(SQL_TEST_HELPERS),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise HarnessError(f"loading pgTAP failed: {result.stderr.strip()[-300:]}")

    def clone(self, name: str | None = None) -> str:
        """A new database copied from the template; returns its name."""
        name = name or f"flagship_test_{uuid.uuid4().hex[:10]}"
        with self._maintenance() as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
            # The owner is not copied either: keep the template's (`postgres`, as on Supabase),
            # or the application role could not create schemas in its own database.
            owner = conn.execute(
                "select pg_get_userbyid(datdba) as owner from pg_database where datname = %s",
                (TEMPLATE,),
            ).fetchone()["owner"]
            conn.execute(
                sql.SQL("create database {} owner {} template {}").format(
                    sql.Identifier(name), sql.Identifier(owner), sql.Identifier(TEMPLATE)
                )
            )
            # Per-database settings (search_path ...) are not copied by CREATE DATABASE.
            rows = conn.execute(
                "select unnest(s.setconfig) as setting from pg_db_role_setting s"
                " join pg_database d on d.oid = s.setdatabase"
                " where d.datname = %s and s.setrole = 0",
                (TEMPLATE,),
            ).fetchall()
            for row in rows:
                key, value = row["setting"].split("=", 1)
                conn.execute(
                    sql.SQL("alter database {} set {} = {}").format(
                        sql.Identifier(name), sql.Identifier(key), sql.SQL(value)
                    )
                )
        self.databases.append(name)
        return name

    def drop(self, name: str) -> None:
        with self._maintenance() as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
        if name in self.databases:
            self.databases.remove(name)

    @contextmanager
    def database(self) -> Iterator[tuple[str, str]]:
        """A clone of the migrated template of its own: (superuser URL, application-role
        URL), dropped afterwards. Module fixtures that commit (the edge, the worker, the
        gateway read what they wrote) use it."""
        name = self.clone()
        try:
            yield self.admin(name), self.app(name)
        finally:
            self.drop(name)

    def cleanup(self) -> None:
        if self.pooler is not None:
            self.pooler.stop()
        for name in list(self.databases):
            self.drop(name)


# -- users ---------------------------------------------------------------------------------
@dataclass
class User:
    """A user created through `auth.users`, with the claims Supabase Auth would issue."""

    id: str
    email: str
    claims: dict[str, Any]

    def __str__(self) -> str:
        return self.email


def create_user(
    conn: psycopg.Connection,
    *,
    email: str | None = None,
    username: str | None = None,
    display_name: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> User:
    """Insert into `auth.users` as Supabase Auth does on sign-up, so every trigger fires."""
    user_id = str(uuid.uuid4())
    email = email or f"user-{user_id[:8]}@example.test"
    meta = dict(metadata or {})
    if username is not None:
        meta.setdefault("username", username)
    if display_name is not None:
        meta.setdefault("display_name", display_name)
    conn.execute(
        """
        insert into auth.users (id, aud, role, email, email_confirmed_at,
                                raw_app_meta_data, raw_user_meta_data)
        values (%s, 'authenticated', 'authenticated', %s, now(),
                '{"provider": "email", "providers": ["email"]}', %s)
        """,
        (user_id, email, json.dumps(meta)),
    )
    return User(user_id, email, claims_for(conn, user_id))


# Who a test acts as: a User, "anon" (or None), "service_role", or raw JWT claims.
Who = User | str | dict | None


def claims_for(conn: psycopg.Connection, user_id: str) -> dict[str, Any]:
    """Claims for a user after the custom access token hook, read inside `conn`'s transaction."""
    row = conn.execute("select * from auth.users where id = %s", (user_id,)).fetchone()
    settings = config.Settings.from_env()
    base = tokens.user_claims(row, 3600, settings.jwt_issuer)
    hook = tokens.access_token_hook()
    if hook is None:
        return base
    event = json.dumps({"user_id": user_id, "claims": base, "authentication_method": "password"})
    conn.execute("savepoint hook")
    conn.execute("set local role supabase_auth_admin")
    result = conn.execute(
        sql.SQL("select {}.{}(%s::jsonb) as r").format(
            sql.Identifier(hook[0]), sql.Identifier(hook[1])
        ),
        (event,),
    ).fetchone()["r"]
    conn.execute("reset role")
    conn.execute("release savepoint hook")
    return result["claims"]


def refresh(conn: psycopg.Connection, user: User) -> User:
    """Re-issue a user's claims (after a role change), as a token refresh would."""
    return User(user.id, user.email, claims_for(conn, user.id))


def as_user(conn: psycopg.Connection, who: Who, **request: Any):
    """Act as a user, or as 'anon' / 'service_role', or with raw JWT claims (a dict) — the
    test-side face of `as_caller`."""
    if who is None or who == "anon":
        return as_caller(conn, {"role": "anon"}, **request)
    if who == "service_role":
        return as_caller(conn, {"role": "service_role"}, **request)
    if isinstance(who, User):
        return as_caller(conn, who.claims, **request)
    if isinstance(who, dict):
        return as_caller(conn, who, **request)
    raise TypeError(f"cannot act as {who!r}")


def grant_roles(conn: psycopg.Connection, user: User, *roles: str) -> User:
    """Give global roles directly (as the platform owner) and re-issue the user's claims."""
    for role in roles:
        conn.execute(
            "insert into accounts.user_roles (user_id, role) values (%s, %s)"
            " on conflict do nothing",
            (user.id, role),
        )
    return refresh(conn, user)


def register_test_topics(
    conn: psycopg.Connection,
    handler_module: str,
    *topics: str,
    schema: dict[str, Any] | None = None,
    example: dict[str, Any] | None = None,
) -> None:
    """Put test-only outbox topics in the event catalogue (by default any object payload),
    so the worker delivers them instead of burying them as unknown."""
    for topic in topics:
        conn.execute(
            "select ops.register_event_type(%s, 1, 'A topic of the tests.', %s, %s, %s)",
            (
                topic,
                Jsonb(schema or {"type": "object"}),
                Jsonb(example or {}),
                handler_module,
            ),
        )


def subscribe(
    conn: psycopg.Connection,
    user: User,
    price_id: str = "price_flagship_pro_monthly",
    status: str = "active",
    quantity: int = 1,
) -> str:
    """Give `user` a Stripe subscription to `price_id` (as the webhook mirror would: a
    customer, the subscription and its item); returns the subscription id. Entitlements
    follow from it (`private.user_has_entitlement`)."""
    tag = user.id.replace("-", "")[:16]
    conn.execute(
        "insert into billing.customers (user_id, stripe_customer_id) values (%s, %s)"
        " on conflict (user_id) do nothing",
        (user.id, f"cus_{tag}"),
    )
    customer = conn.execute(
        "select stripe_customer_id from billing.customers where user_id = %s", (user.id,)
    ).fetchone()["stripe_customer_id"]
    sub = f"sub_{tag}{price_id[-6:].replace('_', '')}"
    conn.execute(
        "insert into billing.subscriptions (id, user_id, customer_id, price_id, status,"
        " quantity) values (%s, %s, %s, %s, %s, %s)",
        (sub, user.id, customer, price_id, status, quantity),
    )
    conn.execute(
        "insert into billing.subscription_items (id, subscription_id, price_id, quantity)"
        " values (%s, %s, %s, %s)",
        (f"si_{sub[4:]}", sub, price_id, quantity),
    )
    return sub


def query(
    conn: psycopg.Connection,
    who: User | str | dict | None,
    sql: str,
    params: Any = None,
    **request: Any,
) -> list[dict[str, Any]]:
    """Run one statement as `who` (see as_user) and return all its rows ([] if none)."""
    with as_user(conn, who, **request):
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def one_row(
    conn: psycopg.Connection,
    who: User | str | dict | None,
    sql: str,
    params: Any = None,
    **request: Any,
) -> dict[str, Any] | None:
    """The first row of a statement run as `who`, or None."""
    rows = query(conn, who, sql, params, **request)
    return rows[0] if rows else None


def scalar(
    conn: psycopg.Connection,
    who: User | str | dict | None,
    sql: str,
    params: Any = None,
    **request: Any,
) -> Any:
    """The first column of the first row, as `who` (uuids as text, as JSON would give them)."""
    row = one_row(conn, who, sql, params, **request)
    value = None if row is None else next(iter(row.values()))
    return str(value) if isinstance(value, uuid.UUID) else value


_SIGNATURES: dict[str, list[dict[str, str]]] = {}


def _signatures(conn: psycopg.Connection, fn: str) -> list[dict[str, str]]:
    """Input argument name -> type of each overload of `fn`, read from pg_catalog."""
    if fn not in _SIGNATURES:
        rows = conn.execute(
            "select p.proargnames as names, p.proargmodes::text[] as modes,"
            " array(select format_type(t, null) from unnest(p.proargtypes::oid[])"
            " with ordinality u(t, i) order by i) as types"
            " from pg_proc p where p.pronamespace::regnamespace::text || '.' || p.proname = %s",
            (fn,),
        ).fetchall()
        found = []
        for r in rows:
            names = r["names"] or []
            modes = r["modes"] or ["i"] * len(names)
            inputs = [n for n, m in zip(names, modes, strict=True) if m in ("i", "b", "v")]
            found.append(dict(zip(inputs, r["types"], strict=True)))
        _SIGNATURES[fn] = found
    return _SIGNATURES[fn]


def rpc(conn: psycopg.Connection, who: Who, fn: str, **kwargs: Any) -> Any:
    """Call `api.<fn>` (or `schema.fn`) with named arguments as `who`; returns its value.

    Arguments are cast to the declared parameter types (read from pg_catalog), so dicts and
    lists go to json/jsonb parameters as JSON and lists to array parameters as arrays. The
    result of an api function with a declared shape (ops.api_result_shapes) is validated
    against it, so a test fails when a function and its published JSON Schema disagree.
    """
    name = fn if "." in fn else f"api.{fn}"
    matches = [s for s in _signatures(conn, name) if set(kwargs) <= set(s)]
    if len(matches) != 1:
        raise TypeError(f"{name}({', '.join(kwargs)}): {len(matches)} matching functions")
    types = matches[0]
    args = ", ".join(f"{k} => %({k})s::{types[k]}" for k in kwargs)
    params = {
        k: Jsonb(v) if types[k] in ("json", "jsonb") and isinstance(v, (dict, list)) else v
        for k, v in kwargs.items()
    }
    result = one_row(conn, who, f"select {name}({args}) as r", params)["r"]
    shapes.check(conn, name, result)
    return result


@contextmanager
def api_error(conn: psycopg.Connection, code: str | None, sqlstate: str | None = None):
    """Expect the block to fail with API error `code` (and SQLSTATE); the transaction survives.

    Uses a savepoint, so the test can go on in the same transaction afterwards — and can
    check that nothing partial was written. `code=None` checks only the SQLSTATE (for
    privilege and RLS refusals, which carry no code).
    """
    conn.execute("savepoint expected_error")
    try:
        yield
    except psycopg.Error as exc:
        conn.execute("rollback to savepoint expected_error")
        got = (exc.diag.message_hint, exc.diag.sqlstate)
        if code is not None:
            assert got[0] == code, f"expected error {code}, got {got}: {exc.diag.message_primary}"
        if sqlstate is not None:
            assert got[1] == sqlstate, f"expected SQLSTATE {sqlstate}, got {got}: {exc}"
        return
    conn.execute("release savepoint expected_error")
    raise AssertionError(f"expected API error {code or sqlstate}, but the call succeeded")


def denied(conn: psycopg.Connection):
    """Expect a privilege or RLS refusal (SQLSTATE 42501)."""
    return api_error(conn, None, "42501")


ANY_HINT = frozenset({"*"})


def matrix_outcome(
    conn: psycopg.Connection,
    who: User | str | None,
    sql: str,
    params: Any = None,
    *,
    count_rows: bool = False,
    denied: frozenset[str | None] = frozenset({None}),
) -> str:
    """One cell of an RLS matrix: what `who` gets from `sql`, as a short word.

    "yes"/"no": rows seen (count_rows: the query returns a column `n`) or changed;
    "deny": SQLSTATE 42501 with a hint in `denied` (None = a bare privilege or policy refusal;
    ANY_HINT = every 42501); "readonly": a view that cannot be written at all (55000);
    otherwise the API error code (hint), or "error <state>". Always rolled back.
    """
    conn.execute("savepoint matrix_cell")
    try:
        with as_user(conn, who):
            cur = conn.execute(sql, params)
            if count_rows:
                result = "yes" if cur.fetchone()["n"] > 0 else "no"
            else:
                result = "yes" if cur.rowcount != 0 else "no"
    except psycopg.Error as exc:
        state, hint = exc.diag.sqlstate, exc.diag.message_hint
        if state == "42501" and (denied is ANY_HINT or hint in denied):
            result = "deny"
        elif state == "55000":
            result = "readonly"
        else:
            result = hint or f"error {state}: {exc}"
    conn.execute("rollback to savepoint matrix_cell")
    return result
