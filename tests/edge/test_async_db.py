"""The edge's database path is async: a request waiting for the database holds no thread.

Before, every route ran its caller transaction in the thread pool (psycopg's sync pool);
these tests fail there: with the thread pool occupied, `/me` (a JWT or an API key) and
`/ready` would wait for a thread instead of answering. The async runner of the caller's
statements (`flagship.database.as_caller_async`) must set exactly what the sync one sets.
"""

from __future__ import annotations

import asyncio
import threading
import time

import anyio
import httpx
import psycopg
import pytest
from edge_helpers import PREFIX, bearer, call_as, new_user, settings, token_for
from psycopg.rows import dict_row

from edge.app import create_app
from flagship.database import CLIENT_IP_HEADER, as_caller, as_caller_async, connect
from flagship.testing.servers import serve_asgi

SETTINGS_SQL = (
    "select current_user as role, current_setting('search_path') as search_path,"
    " current_setting('request.jwt.claims') as claims,"
    " current_setting('request.method') as method, current_setting('request.path') as path,"
    " current_setting('request.headers') as headers,"
    " current_setting('request.cookies') as cookies,"
    " current_setting('statement_timeout') as statement_timeout"
)


@pytest.fixture(scope="module")
def member(admin_url):
    return new_user(admin_url, username="async_member")


@pytest.fixture()
def occupied_edge(app_url):
    """A running edge whose thread pool has one thread, held by a request until released."""
    app = create_app(database_url=app_url, edge=settings())
    held, release = threading.Event(), threading.Event()

    @app.get(f"{PREFIX}/_test/occupy")
    async def occupy() -> dict:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1

        def hold() -> None:
            held.set()
            release.wait(30)

        await anyio.to_thread.run_sync(hold)
        return {}

    with serve_asgi(app) as base:
        holder = threading.Thread(
            target=lambda: httpx.get(f"{base}{PREFIX}/_test/occupy", timeout=40)
        )
        holder.start()
        assert held.wait(10), "the holding request did not start"
        try:
            yield base + PREFIX
        finally:
            release.set()
            holder.join(40)


def test_me_answers_while_the_thread_pool_is_busy(occupied_edge, member):
    started = time.monotonic()
    answer = httpx.get(f"{occupied_edge}/me", headers=bearer(token_for(member)), timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json()["user_id"] == member.id
    assert time.monotonic() - started < 5


def test_an_api_key_is_checked_while_the_thread_pool_is_busy(occupied_edge, admin_url, member):
    key = call_as(
        admin_url,
        member,
        "select api.accounts_create_api_key(p_name => 'async', p_scopes => array['profile:read'])"
        " as k",
    )["k"]
    answer = httpx.get(f"{occupied_edge}/me", headers={"X-Api-Key": key["key"]}, timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json()["via_api_key"] == key["id"]


def test_ready_answers_while_the_thread_pool_is_busy(occupied_edge):
    answer = httpx.get(f"{occupied_edge}/ready", timeout=5)
    assert answer.status_code == 200, answer.text


def _request(**extra):
    return {
        "method": "GET",
        "path": "/functions/v1/test",
        "headers": {"X-Request-Id": "rid-1", CLIENT_IP_HEADER: "6.6.6.6", "User-Agent": "t"},
        "cookies": {"a": "b"},
        "role_settings": {"statement_timeout": "1234"},
        "client_ip": "203.0.113.9",
        **extra,
    }


def test_the_async_runner_sets_what_the_sync_runner_sets(app_url, member):
    with connect(app_url) as conn, as_caller(conn, member.claims, **_request()):
        expected = conn.execute(SETTINGS_SQL).fetchone()

    async def run() -> dict:
        conn = await psycopg.AsyncConnection.connect(app_url, row_factory=dict_row)
        try:
            async with conn.transaction(), as_caller_async(conn, member.claims, **_request()):
                return await (await conn.execute(SETTINGS_SQL)).fetchone()
        finally:
            await conn.close()

    got = asyncio.run(run())
    assert got == expected
    assert got["role"] == "authenticated" and got["statement_timeout"] == "1234ms"
    # A client's own x-flagship-client-ip is dropped; the resolved address is the one SQL sees.
    assert '"x-flagship-client-ip": "203.0.113.9"' in got["headers"]


def test_the_async_runner_runs_the_pre_request_and_resets(app_url, admin_url, member):
    """An API key token without the scope of the path is refused by the pre-request function
    on the async runner too; with `reset` the caller's role does not outlive the block."""
    key = call_as(
        admin_url,
        member,
        "select api.accounts_create_api_key(p_name => 'narrow', p_scopes => array['profile:read'])"
        " as k",
    )["k"]
    claims = {**member.claims, "api_key_id": key["id"], "scopes": ["profile:read"]}

    async def run() -> None:
        conn = await psycopg.AsyncConnection.connect(app_url, row_factory=dict_row)
        try:
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                async with (
                    conn.transaction(),
                    as_caller_async(conn, claims, method="POST", path="/rpc/ctf_save_challenge"),
                ):
                    pass
            assert refused.value.diag.message_hint == "scope_missing"
            async with conn.transaction():
                async with as_caller_async(conn, member.claims, path="/rpc/x"):
                    assert (await (await conn.execute("select current_user as u")).fetchone())[
                        "u"
                    ] == "authenticated"
                row = await (
                    await conn.execute("select current_user = session_user as same")
                ).fetchone()
                assert row["same"]
        finally:
            await conn.close()

    asyncio.run(run())
