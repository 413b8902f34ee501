"""The edge's database access: one connection pool per process, opened by the app lifespan.

Endpoints take a connection from the pool and, when they act for an API caller, wrap it in
`flagship.database.as_caller` so that RLS sees the caller exactly as behind PostgREST.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from flagship.database import as_caller, pool_kwargs

POOL_MIN = 1
POOL_MAX = 10
CONNECT_TIMEOUT = 5.0  # seconds to wait for a pooled connection before answering 503


class Database:
    """A pool of transactional connections with dict rows (the shape the API returns)."""

    def __init__(self, url: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX) -> None:
        self.pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            name="edge",
            timeout=CONNECT_TIMEOUT,
            kwargs={
                "row_factory": dict_row,
                "application_name": "flagship-edge",
                **pool_kwargs(),
            },
        )

    def open(self) -> None:
        # Do not wait: the service must start (and answer /health) while the database is down.
        self.pool.open(wait=False)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection]:
        """A connection in a transaction, committed on success and rolled back on error."""
        with self.pool.connection(timeout=timeout) as conn:
            yield conn

    @contextmanager
    def caller(
        self, claims: Mapping[str, Any] | None, **request: Any
    ) -> Iterator[psycopg.Connection]:
        """A connection acting as the API caller `claims` (None is anonymous)."""
        with self.connection() as conn, as_caller(conn, claims, **request):
            yield conn
