"""Storage shares /rest/v1's connection pool, and /rest/v1 leaves a connection READ ONLY
after a GET: a Storage transaction must be read-write whatever the last request was (an
upload right after a read failed with 25006, "cannot execute INSERT in a read-only
transaction", as the runnable docs found)."""

from __future__ import annotations

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from gateway.storage.db import StorageDb


def test_a_storage_transaction_is_read_write_after_a_rest_read(db_url):
    with ConnectionPool(db_url, min_size=1, max_size=1, kwargs={"row_factory": dict_row}) as pool:
        with pool.connection() as conn:
            conn.read_only = True  # what /rest/v1 leaves behind after a GET
        with StorageDb(pool).tx({"role": "service_role"}, method="POST") as conn:
            row = conn.execute("show transaction_read_only").fetchone()
        assert row["transaction_read_only"] == "off"
