"""Races through real parallel requests (each on its own connection of the Auth pool)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from auth_helpers import client, module_gateway, unique_email

from flagship.database import connect

PASSWORD = "race-pass-123"
N = 6


@pytest.fixture(scope="module")
def gw(test_server):
    yield from module_gateway(test_server, {"auth": {"email": {"enable_confirmations": False}}})


def parallel(fn, n: int = N) -> list:
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda _: fn(), range(n)))


def test_concurrent_refreshes_of_one_token_agree(gw):
    """Tabs refreshing at once: one rotation, and every tab gets the same new token."""
    email = unique_email("race-refresh")
    with client(gw) as c:
        session = c.post("/signup", json={"email": email, "password": PASSWORD}).json()

    def refresh():
        with client(gw) as c:
            return c.post(
                "/token",
                params={"grant_type": "refresh_token"},
                json={"refresh_token": session["refresh_token"]},
            )

    answers = parallel(refresh)
    assert [a.status_code for a in answers] == [200] * N
    assert len({a.json()["refresh_token"] for a in answers}) == 1
    with connect(gw.admin_url) as conn:
        rows = conn.execute(
            "select parent, revoked from auth.refresh_tokens t join auth.sessions s"
            " on s.id = t.session_id join auth.users u on u.id = s.user_id where u.email = %s"
            " order by t.id",
            (email,),
        ).fetchall()
    assert rows == [
        {"parent": None, "revoked": True},
        {"parent": session["refresh_token"], "revoked": False},
    ]


def test_concurrent_sign_ups_of_one_address_make_one_user(gw):
    email = unique_email("race-signup")

    def sign_up():
        with client(gw) as c:
            return c.post("/signup", json={"email": email, "password": PASSWORD})

    answers = parallel(sign_up)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [422] * (N - 1), [a.text for a in answers]
    assert {a.json().get("error_code") for a in answers if a.status_code == 422} == {
        "user_already_exists"
    }
    with connect(gw.admin_url) as conn:
        n = conn.execute(
            "select count(*) as n from auth.users where lower(email) = lower(%s)", (email,)
        ).fetchone()["n"]
    assert n == 1


def test_concurrent_admin_creations_of_one_address(gw):
    email = unique_email("race-admin")

    def create():
        with client(gw, key=gw.service_key) as c:
            return c.post("/admin/users", json={"email": email, "password": PASSWORD})

    codes = sorted(a.status_code for a in parallel(create))
    assert codes == [200] + [422] * (N - 1)
