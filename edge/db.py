"""The edge's database access: one async connection pool per process, opened by the lifespan.

Endpoints take a connection from the pool and, when they act for an API caller, wrap it in
`flagship.database.as_caller_async` so that RLS sees the caller exactly as behind PostgREST.
Async, on the event loop: a request waiting for the database holds no thread, and no
request pays a hop to the thread pool and back (measured: twice the `/me` answers per
second of the thread-pool version, docs/operations.md). Work that blocks — model inference,
file inspection, the Stripe and Resend SDKs — goes to the thread pool explicitly
(`run_in_threadpool`), outside the transaction where it can.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from flagship.database import as_caller_async, pool_kwargs

POOL_MIN = 1
POOL_MAX = 10
CONNECT_TIMEOUT = 5.0  # seconds to wait for a pooled connection before answering 503
# After a lost connection, requests wait at most this long for a connection while the pool
# reconnects in the background, so a database restart answers 503 at once, not after 5 s.
DOWN_TIMEOUT = 0.5
DOWN_SECONDS = 5.0  # how long "the database was just lost" holds after the last failure
STATEMENT_TIMEOUT_MS = 8000  # the bound of one caller transaction (authenticated's, 8 s)


def connection_lost(exc: BaseException) -> bool:
    """A failure of the connection itself (server gone, restarting, unreachable), not of the
    statement: no SQLSTATE, class 08, or the server's shutdown codes."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate or ""
    return not state or state.startswith("08") or state in ("57P01", "57P02", "57P03")


class Availability:
    """Whether the database was lost a moment ago: then waits for a connection are short."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return time.monotonic() < self._until

    def lost(self) -> None:
        with self._lock:
            self._until = time.monotonic() + DOWN_SECONDS

    def timeout(self, wanted: float | None) -> float | None:
        return min(wanted or DOWN_TIMEOUT, DOWN_TIMEOUT) if self.down else wanted


class Database:
    """A pool of transactional connections with dict rows (the shape the API returns)."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = POOL_MIN,
        max_size: int = POOL_MAX,
        statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
    ) -> None:
        self.availability = Availability()
        self.statement_timeout_ms = statement_timeout_ms
        self.pool = AsyncConnectionPool(
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

    async def open(self) -> None:
        # Do not wait: the service must start (and answer /health) while the database is down.
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(
        self, timeout: float | None = None
    ) -> AsyncIterator[psycopg.AsyncConnection]:
        """A connection in a transaction, committed on success and rolled back on error.

        A lost connection (or none within the timeout) raises as usual — the app answers
        503 `database_unavailable` — and makes the next requests wait briefly only.
        """
        try:
            async with self.pool.connection(timeout=self.availability.timeout(timeout)) as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            if connection_lost(exc):
                self.availability.lost()
            raise

    @asynccontextmanager
    async def caller(
        self, claims: Mapping[str, Any] | None, **request: Any
    ) -> AsyncIterator[psycopg.AsyncConnection]:
        """A connection acting as the API caller `claims` (None is anonymous), bounded by
        the statement timeout (EDGE_STATEMENT_TIMEOUT_MS: 504 `database_timeout` past it)."""
        settings = {"statement_timeout": str(self.statement_timeout_ms)}
        # As the gateway runs a request: BEGIN, the caller's settings, the pre-request and
        # the endpoint's first statement travel pipelined in one round trip (its first fetch
        # sends them), the COMMIT in the next (a database error surfaces at that fetch or at
        # the end of the block, where the app's handlers map it as before). reset=False: the
        # transaction ends right after the block, and with it the transaction-local settings.
        async with (
            self.connection() as conn,
            conn.pipeline(),
            conn.transaction(),
            as_caller_async(conn, claims, role_settings=settings, reset=False, **request),
        ):
            yield conn
