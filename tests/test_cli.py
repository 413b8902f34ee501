"""The `flagship` CLI: one-line reasons on bad input, and tokens that work like Supabase's."""

from __future__ import annotations

import os
import subprocess
import sys

import jwt
import pytest

from flagship import config
from flagship.database import as_caller, connect
from flagship.testing.harness import create_user


def flagship(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flagship.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["token", "--ttl", "0", "alice"], "--ttl must be between"),
        (["token", "--role", "anon", "alice"], "names no user"),
        (["token"], "name a user"),
        (["bench", "nothing"], "no benchmark named"),
        (["bench", "accounts", "--scale", "0"], "--scale must be"),
        (["bench", "accounts", "--reuse", "kept"], "cannot --reuse"),
    ],
)
def test_bad_arguments_get_one_line(args, reason):
    result = flagship(*args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flagship: ") and reason in lines[0]


def test_unknown_command_is_a_usage_error():
    result = flagship("launch")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_external_database_is_not_managed(fresh_db):
    for args in (["db", "reset"], ["db", "stop"], ["db", "start"]):
        result = flagship(*args, env={"DATABASE_URL": fresh_db})
        assert result.returncode == 1
        assert "DATABASE_URL" in result.stderr or "reset only" in result.stderr


def test_unknown_user(fresh_db):
    result = flagship("token", "nobody@example.test", env={"DATABASE_URL": fresh_db})
    assert result.returncode == 1 and "no such user" in result.stderr


def test_token_works_against_the_database_like_the_tests(fresh_db):
    with connect(fresh_db) as conn:
        user = create_user(conn, username="cli_user")
        conn.execute(
            "insert into accounts.user_roles (user_id, role) values (%s, 'moderator')", (user.id,)
        )
        conn.commit()
    result = flagship("token", "cli_user", env={"DATABASE_URL": fresh_db})
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(
        result.stdout.strip(),
        config.LOCAL_JWT_SECRET,
        algorithms=["HS256"],
        audience="authenticated",
    )
    assert claims["sub"] == user.id and claims["user_roles"] == ["member", "moderator"]
    with connect(fresh_db) as conn, as_caller(conn, claims):
        me = conn.execute("select api.accounts_get_my_account() as a").fetchone()["a"]
        assert me["profile"]["username"] == "cli_user" and me["roles"] == ["member", "moderator"]

    anon = flagship("token", "--role", "anon", env={"DATABASE_URL": fresh_db})
    anon_claims = jwt.decode(anon.stdout.strip(), config.LOCAL_JWT_SECRET, algorithms=["HS256"])
    assert anon_claims["role"] == "anon" and "sub" not in anon_claims


def test_db_url_and_status(fresh_db):
    assert flagship("db", "url", env={"DATABASE_URL": fresh_db}).stdout.strip() == fresh_db
    status = flagship("db", "status", env={"DATABASE_URL": fresh_db})
    assert status.returncode == 0 and "0 pending" in status.stdout
