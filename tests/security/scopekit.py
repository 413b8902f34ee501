"""Helpers for the API-key scope and fuzz tests: the api objects from pg_catalog, key tokens
minted the way the edge mints them, and calls through `as_caller` as PostgREST makes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from edge.auth.api_keys import KeyGrant, claims_for
from edge.settings import EdgeSettings
from flagship import config
from flagship.database import as_caller
from flagship.testing.harness import User


@dataclass(frozen=True)
class ApiObject:
    name: str  # api.<name>
    kind: str  # function | view
    argtypes: tuple[str, ...] = ()
    definer: bool = False

    @property
    def path(self) -> str:
        bare = self.name.removeprefix("api.")
        return f"/rpc/{bare}" if self.kind == "function" else f"/{bare}"


def api_objects(conn: psycopg.Connection) -> list[ApiObject]:
    """Every function (each overload) and view in `api`, from pg_catalog."""
    rows = conn.execute(
        """
        select 'api.' || p.proname as name, 'function' as kind, p.prosecdef as definer,
               array(select format_type(t, null) from unnest(p.proargtypes) as t) as argtypes
        from pg_proc as p where p.pronamespace = 'api'::regnamespace
        union all
        select 'api.' || c.relname, 'view', false, '{}'
        from pg_class as c where c.relnamespace = 'api'::regnamespace and c.relkind in ('v', 'm')
        order by 1
        """
    ).fetchall()
    return [ApiObject(r["name"], r["kind"], tuple(r["argtypes"]), r["definer"]) for r in rows]


def declarations(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute("select * from accounts.api_object_scopes").fetchall()
    return {r["object"]: r for r in rows}


def all_scopes(conn: psycopg.Connection) -> list[str]:
    return [r["scope"] for r in conn.execute("select scope from accounts.api_scopes order by 1")]


def create_key(conn: psycopg.Connection, owner: User, scopes: list[str], **kw: Any) -> dict:
    """A key created by its owner's session, through the api (returns the api's answer)."""
    with as_caller(conn, owner.claims):
        return conn.execute(
            "select api.accounts_create_api_key('test', %s, %s) as k",
            (scopes, kw.get("expires_at")),
        ).fetchone()["k"]


def key_claims(owner: User, key: dict) -> dict[str, Any]:
    """The claims the edge signs when this key is exchanged (edge.auth.api_keys.claims_for)."""
    base = config.Settings.from_env()
    edge = EdgeSettings(jwt_secret=base.jwt_secret, jwt_issuer=base.jwt_issuer)
    expires = key.get("expires_at")
    grant = KeyGrant(
        key["id"],
        owner.id,
        list(key["scopes"]),
        datetime.fromisoformat(expires) if isinstance(expires, str) else expires,
    )
    return claims_for(grant, edge)


def well_typed(argtype: str) -> sql.Composable:
    """A plain, well-typed value for an argument (the walk only needs the call to start)."""
    literal = {
        "uuid": "'00000000-0000-4000-8000-000000000000'",
        "text": "'x'",
        "integer": "1",
        "bigint": "1",
        "boolean": "false",
        "jsonb": "'{}'",
        "timestamp with time zone": "(now() + interval '1 day')",
        "interval": "'1 hour'",
        "text[]": "'{}'",
        "uuid[]": "'{}'",
        "bigint[]": "'{}'",
    }[argtype]
    return sql.SQL("{}::{}").format(sql.SQL(literal), sql.SQL(argtype))


def call_sql(obj: ApiObject, args: list[sql.Composable] | None = None) -> sql.Composable:
    """`select` the object: the function with arguments, or one row of the view."""
    schema, name = obj.name.split(".")
    if obj.kind == "view":
        return sql.SQL("select * from {}.{} limit 1").format(
            sql.Identifier(schema), sql.Identifier(name)
        )
    if args is None:
        args = [well_typed(t) for t in obj.argtypes]
    return sql.SQL("select * from {}.{}({})").format(
        sql.Identifier(schema), sql.Identifier(name), sql.SQL(", ").join(args)
    )


def outcome(
    conn: psycopg.Connection,
    claims: dict[str, Any],
    statement: sql.Composable | str | None,
    *,
    path: str = "",
    method: str = "POST",
    params: Any = None,
) -> psycopg.Error | None:
    """Run as the caller inside a savepoint (always rolled back); the error, or None."""
    conn.execute("savepoint scope_call")
    try:
        with as_caller(conn, claims, path=path, method=method):
            if statement is not None:
                conn.execute(statement, params).fetchall()
        return None
    except psycopg.Error as exc:
        return exc
    finally:
        conn.execute("rollback to savepoint scope_call")


def hint(error: psycopg.Error | None) -> str | None:
    return error.diag.message_hint if error is not None else None
