"""The gateway around /rest/v1: the migrator's NOTIFY, psql --as, the Auth mount."""

from __future__ import annotations

import subprocess

import httpx
import psycopg

from flagship import migrate
from flagship.cli import caller_session
from flagship.database import connect
from flagship.embedded import binary
from flagship.target import Target
from flagship.testing.gateway import serve_gateway
from flagship.testing.harness import create_user


def test_migrate_notifies_pgrst(gateway_db):
    admin, app = gateway_db
    with psycopg.connect(admin, autocommit=True) as listener:
        listener.execute("listen pgrst")
        assert migrate.migrate(app) == []  # nothing pending, still notifies
        payloads = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert payloads == ["reload schema"]


def test_psql_as_a_user_runs_with_the_request_context(gateway_db):
    admin, app = gateway_db
    with connect(admin) as conn:
        user = create_user(conn, username="psql_as_user")
        conn.commit()
    url, options = caller_session(Target(app, admin, None), user.email)
    done = subprocess.run(
        [
            binary("psql"),
            url,
            "-X",
            "-At",
            "-c",
            "select current_user, auth.uid(), current_setting('search_path')",
        ],
        env={"PGOPTIONS": options, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"authenticated|{user.id}|api,public,extensions"
    # The session really is the user: a table of a private schema is out of reach.
    done = subprocess.run(
        [binary("psql"), url, "-X", "-At", "-c", "select count(*) from auth.users"],
        env={"PGOPTIONS": options, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0 and "permission denied" in done.stderr


def test_auth_is_mounted_under_auth_v1_when_present(gateway_db):
    with serve_gateway(gateway_db[1]) as server:
        r = httpx.get(f"{server.url}/auth/v1/settings", headers={"apikey": server.anon_key})
        assert r.status_code == 200, r.text
        r = httpx.get(f"{server.url}/rest/v1/", headers={"apikey": server.anon_key})
        assert r.status_code == 200
