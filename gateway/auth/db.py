"""One transaction as Supabase Auth runs it: the `supabase_auth_admin` role, UTC."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import Cursor
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool


@contextmanager
def transaction(pool: ConnectionPool) -> Iterator[Cursor]:
    """A dict-row cursor in a transaction that commits on success and rolls back on error.

    The pool's login role must be `supabase_auth_admin` or able to `set role` to it (the
    embedded server's admin is); the tables of the auth schema belong to that role.
    """
    with pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("set local role supabase_auth_admin")
        cur.execute("set local timezone = 'UTC'")
        yield cur
