"""Storage shares /rest/v1's connection pool; a REST read leaves `read_only` set on the
pooled session, and a Storage write on that connection must still be writable."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from flagship.database import pool_kwargs
from gateway.storage.db import StorageDb


def test_storage_transactions_are_writable_after_a_rest_read(test_server):
    name = test_server.clone()
    try:
        with ConnectionPool(
            test_server.app(name), min_size=1, max_size=1, kwargs=pool_kwargs(), open=True
        ) as pool:
            with pool.connection() as conn:
                conn.read_only = True  # what a GET on /rest/v1 leaves behind
            with StorageDb(pool).tx({"role": "service_role"}) as conn:
                setting = conn.execute("select current_setting('transaction_read_only')")
                assert setting.fetchone()[0] == "off"
    finally:
        test_server.drop(name)
