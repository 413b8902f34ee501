"""PostgreSQL 15 specifics, on a server of the test's own (Debian's build, with LLVM JIT)."""

from __future__ import annotations

import pytest

from flagship.database import as_caller, connect
from flagship.testing.servers import debian_pg_bin
from gateway.rest import schema_cache

pytestmark = pytest.mark.skipif(debian_pg_bin() is None, reason="PostgreSQL 15 not installed")


def test_api_requests_run_without_jit(pg15):
    """The API views' large plans would be JIT-compiled on every request (tens of seconds
    on an empty database); the roles PostgREST switches to, and the services' login role,
    turn it off."""
    _, url = pg15
    with connect(url) as conn:
        # The server's own default is on (Debian builds with LLVM)...
        assert (
            conn.execute("select boot_val from pg_settings where name = 'jit'").fetchone()[
                "boot_val"
            ]
            == "on"
        )
        assert conn.execute("select current_setting('jit') as j").fetchone()["j"] == "off"
        cache = schema_cache.load(conn, ("api",))
        conn.rollback()
        for role in ("anon", "authenticated", "service_role"):
            assert cache.role_settings[role]["jit"] == "off", role
        claims = {"role": "anon"}
        with as_caller(conn, claims, role_settings=cache.role_settings["anon"], method="GET"):
            rows = conn.execute("select * from api.ctf_challenges").fetchall()
            assert conn.execute("select current_setting('jit') as j").fetchone()["j"] == "off"
        conn.rollback()
    assert rows == []
