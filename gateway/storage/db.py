"""`storage.buckets` / `storage.objects` as Supabase Storage uses them: as the caller.

Every statement runs in a transaction on the gateway's `authenticator` pool, acting as the
request's caller through `flagship.database.as_caller` (role, `request.jwt.claims`, request
GUCs), so the RLS policies of our migrations decide — exactly what Storage does with its
`set_config('role', ...)`. Storage's "superuser" reads (a bucket's limits, public and signed
downloads) run as `service_role`, which bypasses RLS as it does on Supabase.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from flagship.database import as_caller
from gateway.storage import errors

SERVICE = {"role": "service_role"}
# Every statement is constant text with bound values; the few dynamic parts (ORDER BY,
# SET lists) are composed with psycopg.sql from fixed lists.
BUCKET_SQL = (
    "select id, name, owner, public, file_size_limit, allowed_mime_types, created_at,"
    " updated_at from storage.buckets where id = %s"
)
FIND_SQL = (
    "select id, bucket_id, name, owner, owner_id, version, metadata, user_metadata,"
    " created_at, updated_at, last_accessed_at from storage.objects"
    " where bucket_id = %s and name = %s"
)
FIND_FOR_UPDATE_SQL = (
    "select id, bucket_id, name, owner, owner_id, version, metadata, user_metadata,"
    " created_at, updated_at, last_accessed_at from storage.objects"
    " where bucket_id = %s and name = %s for update"
)
FIND_PUBLIC_SQL = (
    "select b.public, o.* from storage.buckets as b left join lateral ("
    " select id, bucket_id, name, owner, owner_id, version, metadata, user_metadata,"
    " created_at, updated_at, last_accessed_at from storage.objects"
    " where bucket_id = b.id and name = %s) as o on true where b.id = %s"
)
INSERT_SQL = (
    "insert into storage.objects"
    " (bucket_id, name, owner, owner_id, version, metadata, user_metadata)"
    " values (%(bucket_id)s, %(name)s, %(owner)s, %(owner_id)s, %(version)s,"
    " %(metadata)s, %(user_metadata)s) returning id, created_at, updated_at"
)
UPSERT_SQL = (
    "insert into storage.objects"
    " (bucket_id, name, owner, owner_id, version, metadata, user_metadata)"
    " values (%(bucket_id)s, %(name)s, %(owner)s, %(owner_id)s, %(version)s,"
    " %(metadata)s, %(user_metadata)s)"
    " on conflict (bucket_id, name) do update set owner = excluded.owner,"
    " owner_id = excluded.owner_id, version = excluded.version,"
    " metadata = excluded.metadata, user_metadata = excluded.user_metadata,"
    " updated_at = now(), last_accessed_at = now()"
    " returning id, created_at, updated_at"
)
SORT_COLUMNS = ("name", "updated_at", "created_at", "last_accessed_at")


class StorageDb:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    @contextmanager
    def tx(
        self,
        claims: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
        method: str = "GET",
        client_ip: str | None = None,
    ) -> Iterator[psycopg.Connection]:
        """One transaction acting as `claims`; database errors in Storage's shape."""
        try:
            # Pipeline mode: BEGIN, the caller's settings and the first statement travel
            # together (as /rest/v1 does); reading a result is a sync point.
            with self.pool.connection() as conn:
                # The pool is /rest/v1's, whose GETs leave `read_only` set on the session:
                # Storage writes, so it says which it wants (as the schema-cache reload does).
                conn.read_only = False
                with (
                    conn.pipeline(),
                    conn.transaction(),
                    as_caller(
                        conn,
                        claims,
                        method=method,
                        path="",
                        headers=headers,
                        reset=True,
                        client_ip=client_ip,
                    ),
                ):
                    yield conn
        except psycopg.Error as exc:
            raise errors.from_database(exc) from exc
        except PoolTimeout as exc:
            raise errors.StorageError(
                500, "DatabaseTimeout", "Timed out acquiring a database connection", http=503
            ) from exc

    @staticmethod
    def switch(conn: psycopg.Connection, claims: Mapping[str, Any]):
        """Act as another caller for the rest of a transaction (as_caller, reset on exit)."""
        return as_caller(conn, claims, path="", reset=True)

    # -- buckets -----------------------------------------------------------------------

    @staticmethod
    def bucket(conn, bucket_id: str) -> dict[str, Any] | None:
        return conn.execute(BUCKET_SQL, (bucket_id,)).fetchone()

    def bucket_rules(self, bucket_id: str) -> dict[str, Any]:
        """The bucket as the service role reads it (limits, allowlist, public), or 404."""
        with self.tx(SERVICE) as conn:
            row = self.bucket(conn, bucket_id)
        if row is None:
            raise errors.no_such_bucket()
        return row

    # -- objects -----------------------------------------------------------------------

    @staticmethod
    def find(conn, bucket_id: str, name: str, *, for_update: bool = False):
        query = FIND_FOR_UPDATE_SQL if for_update else FIND_SQL
        return conn.execute(query, (bucket_id, name)).fetchone()

    @staticmethod
    def lock_name(conn, bucket_id: str, name: str) -> None:
        """Storage's waitObjectLock: one writer per object path at a time (transaction-level
        advisory lock), so the version a write replaces is known even for a new path."""
        conn.execute(
            "select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{bucket_id}/{name}",)
        ).fetchone()

    @staticmethod
    def find_public(conn, bucket_id: str, name: str):
        """The object of a public bucket (one statement); 404 NoSuchBucket when the bucket
        is missing or not public, None when the object is."""
        row = conn.execute(FIND_PUBLIC_SQL, (name, bucket_id)).fetchone()
        if row is None or not row["public"]:
            raise errors.no_such_bucket()
        if row["id"] is None:
            return None
        del row["public"]
        return row

    @staticmethod
    def write(conn, row: Mapping[str, Any], *, upsert: bool) -> dict[str, Any]:
        """Insert (or upsert) an object row as the current caller; RLS decides."""
        params = {
            **row,
            "metadata": Jsonb(row.get("metadata")),
            "user_metadata": Jsonb(row["user_metadata"]) if row.get("user_metadata") else None,
        }
        found = conn.execute(UPSERT_SQL if upsert else INSERT_SQL, params).fetchone()
        if found is None:  # pragma: no cover - RLS raises rather than skipping an insert
            raise errors.rls_denied()
        return found

    def can_write(self, claims, row: Mapping[str, Any], *, upsert: bool) -> None:
        """Storage's testPermission: the insert (or upsert) as the caller, rolled back."""
        with self.tx(claims, method="POST") as conn:
            # The same per-path lock as the write: the storage.objects triggers lock the
            # owner's usage row before the insert meets a concurrent one, so an unlocked
            # trial could deadlock with the real write of the same path.
            self.lock_name(conn, row["bucket_id"], row["name"])
            try:
                with conn.transaction() as sp:
                    self.write(conn, row, upsert=upsert)
                    raise psycopg.Rollback(sp)
            except psycopg.errors.UniqueViolation as exc:
                raise errors.already_exists() from exc

    @staticmethod
    def search(
        conn,
        bucket_id: str,
        prefix: str,
        search: str,
        limit: int,
        offset: int,
        column: str,
        order: str,
    ) -> list[dict[str, Any]]:
        """Storage's `storage.search` (list v1): the folders and then the files one level
        below `prefix`, names starting with `search` (case-insensitive), as the caller."""
        if column not in SORT_COLUMNS:
            raise errors.invalid_parameter("sortBy.column")
        direction = "desc" if order.lower() == "desc" else "asc"
        levels = len([p for p in prefix.split("/") if p]) + 1
        like = _like_escape(prefix) + _like_escape(search) + "%"
        query = sql.SQL(
            """
            with folders as (
                select o.path_tokens[%(levels)s] as folder
                from storage.objects as o
                where o.bucket_id = %(bucket)s and o.name ilike %(like)s
                  and array_length(o.path_tokens, 1) > %(levels)s
                group by 1
            ), files as (
                select o.path_tokens[%(levels)s] as name, o.id, o.updated_at, o.created_at,
                    o.last_accessed_at, o.metadata
                from storage.objects as o
                where o.bucket_id = %(bucket)s and o.name ilike %(like)s
                  and array_length(o.path_tokens, 1) = %(levels)s
            )
            select * from (
                (select folder as name, null::uuid as id, null::timestamptz as updated_at,
                    null::timestamptz as created_at, null::timestamptz as last_accessed_at,
                    null::jsonb as metadata, 0 as kind
                 from folders)
                union all
                (select name, id, updated_at, created_at, last_accessed_at, metadata, 1
                 from files)
            ) as listing
            order by kind, {column} {direction}, name {direction}
            limit %(limit)s offset %(offset)s
            """
        ).format(column=sql.Identifier(column), direction=sql.SQL(direction))
        return conn.execute(
            query,
            {"levels": levels, "bucket": bucket_id, "like": like, "limit": limit, "offset": offset},
        ).fetchall()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def object_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as Storage answers it (timestamps ISO, ids as text)."""
    out = {}
    for key, value in row.items():
        if key == "kind":
            continue
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        elif value is not None and not isinstance(value, str | int | float | bool | dict | list):
            value = str(value)
        out[key] = value
    return out


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
