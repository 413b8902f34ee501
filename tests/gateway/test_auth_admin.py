"""The admin API (auth.admin.*) takes the service key only; anon and user keys get 403."""

from __future__ import annotations

import uuid

import pytest
from auth_helpers import (
    assert_error,
    claims,
    client,
    last_link,
    mails,
    module_gateway,
    unique_email,
)

from flagship.database import connect

PASSWORD = "admin-made-77"


@pytest.fixture(scope="module")
def gw(test_server):
    yield from module_gateway(test_server)


@pytest.fixture
def service(gw):
    with client(gw, key=gw.service_key) as c:
        yield c


@pytest.fixture
def anon(gw):
    with client(gw) as c:
        yield c


def test_create_get_update_delete(gw, service, anon):
    email = unique_email("admin-create")
    response = service.post(
        "/admin/users",
        json={
            "email": email,
            "password": PASSWORD,
            "email_confirm": True,
            "user_metadata": {"display_name": "Made"},
            "app_metadata": {"plan": "pro"},
        },
    )
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["email_confirmed_at"] and user["app_metadata"]["plan"] == "pro"
    assert user["app_metadata"]["provider"] == "email"
    assert service.get(f"/admin/users/{user['id']}").json()["email"] == email
    # The user signs in straight away, and the token carries the admin-set app_metadata.
    signed = anon.post(
        "/token", params={"grant_type": "password"}, json={"email": email, "password": PASSWORD}
    ).json()
    assert claims(signed["access_token"])["app_metadata"]["plan"] == "pro"
    assert_error(
        service.post("/admin/users", json={"email": email, "password": PASSWORD}),
        422,
        "email_exists",
    )
    updated = service.put(
        f"/admin/users/{user['id']}",
        json={"user_metadata": {"lang": "de"}, "app_metadata": {"plan": "free"}},
    ).json()
    assert updated["user_metadata"] == {"display_name": "Made", "lang": "de"}
    assert updated["app_metadata"]["plan"] == "free"
    # A ban ends the user's sessions and refuses sign-in.
    service.put(f"/admin/users/{user['id']}", json={"ban_duration": "24h"})
    assert_error(
        anon.post(
            "/token", params={"grant_type": "password"}, json={"email": email, "password": PASSWORD}
        ),
        400,
        "user_banned",
    )
    assert_error(
        anon.post(
            "/token",
            params={"grant_type": "refresh_token"},
            json={"refresh_token": signed["refresh_token"]},
        ),
        400,
        "refresh_token_not_found",
    )
    service.put(f"/admin/users/{user['id']}", json={"ban_duration": "none"})
    assert service.delete(f"/admin/users/{user['id']}").json() == {}
    assert_error(service.get(f"/admin/users/{user['id']}"), 404, "user_not_found")
    assert_error(service.get("/admin/users/not-a-uuid"), 404, "validation_failed")
    assert_error(service.put(f"/admin/users/{uuid.uuid4()}", json={}), 404, "user_not_found")


def test_list_users_paginates(service):
    for n in range(3):
        service.post("/admin/users", json={"email": unique_email(f"list{n}")})
    response = service.get("/admin/users", params={"page": 1, "per_page": 2})
    body = response.json()
    assert len(body["users"]) == 2 and body["aud"] == "authenticated"
    total = int(response.headers["x-total-count"])
    assert total >= 3 and 'rel="next"' in response.headers["link"]
    assert_error(service.get("/admin/users", params={"page": "x"}), 400, "validation_failed")


@pytest.mark.parametrize("who", ["anon", "user", "none"])
def test_admin_routes_refuse_everyone_but_the_service_key(gw, service, who):
    email = unique_email("victim")
    victim = service.post(
        "/admin/users", json={"email": email, "password": PASSWORD, "email_confirm": True}
    ).json()
    if who == "user":
        with client(gw) as a:
            token = a.post(
                "/token",
                params={"grant_type": "password"},
                json={"email": email, "password": PASSWORD},
            ).json()["access_token"]
        headers = gw.headers(token=token)
    elif who == "anon":
        headers = gw.headers()
    else:
        headers = {"apikey": gw.anon_key}
    status, code = (401, "no_authorization") if who == "none" else (403, "not_admin")
    with client(gw) as c:
        c.headers.clear()
        c.headers.update(headers)
        calls = [
            c.get("/admin/users"),
            c.post("/admin/users", json={"email": unique_email("intruder")}),
            c.get(f"/admin/users/{victim['id']}"),
            c.put(f"/admin/users/{victim['id']}", json={"app_metadata": {"role": "admin"}}),
            c.delete(f"/admin/users/{victim['id']}"),
            c.post("/invite", json={"email": unique_email("inv")}),
            c.post("/admin/generate_link", json={"type": "recovery", "email": email}),
        ]
    for response in calls:
        assert_error(response, status, code)
    # Nothing changed.
    after = service.get(f"/admin/users/{victim['id']}").json()
    assert after["app_metadata"] == victim["app_metadata"]


def test_invite_then_accept(gw, service, anon):
    email = unique_email("invitee")
    user = service.post("/invite", json={"email": email, "data": {"display_name": "Ivy"}}).json()
    assert user["invited_at"] and "email_confirmed_at" not in user
    assert mails(gw, email)[-1]["template"] == "auth_invite"
    link = last_link(gw, email, "invite")
    response = anon.get("/verify", params={"token": link["token"], "type": "invite"})
    assert response.status_code == 303 and "access_token=" in response.headers["location"]
    assert service.get(f"/admin/users/{user['id']}").json()["email_confirmed_at"]
    assert_error(service.post("/invite", json={"email": email}), 422, "email_exists")


def test_generate_link_does_not_send(gw, service, anon):
    email = unique_email("genlink")
    body = service.post(
        "/admin/generate_link", json={"type": "signup", "email": email, "password": PASSWORD}
    ).json()
    assert body["verification_type"] == "signup" and body["email"] == email
    assert body["action_link"].startswith(f"{gw.auth_url}/verify?token={body['hashed_token']}")
    assert len(body["email_otp"]) == 6 and mails(gw, email) == []
    verified = anon.post(
        "/verify", json={"type": "signup", "email": email, "token": body["email_otp"]}
    )
    assert verified.status_code == 200, verified.text
    rec = service.post("/admin/generate_link", json={"type": "recovery", "email": email}).json()
    assert anon.post(
        "/verify", json={"type": "recovery", "token_hash": rec["hashed_token"]}
    ).is_success
    assert_error(
        service.post(
            "/admin/generate_link", json={"type": "magiclink", "email": unique_email("n")}
        ),
        404,
        "user_not_found",
    )
    assert_error(
        service.post("/admin/generate_link", json={"type": "bogus", "email": email}),
        400,
        "validation_failed",
    )


def test_admin_created_users_keep_the_platform_rules(gw, service):
    """The auth.users triggers run for users the Auth service creates (profile, member role)."""
    user = service.post(
        "/admin/users",
        json={"email": unique_email("profile"), "user_metadata": {"username": "prof_user"}},
    ).json()
    with connect(gw.admin_url) as conn:
        profile = conn.execute(
            "select username from accounts.profiles where id = %s", (user["id"],)
        ).fetchone()
        roles = conn.execute(
            "select role from accounts.user_roles where user_id = %s", (user["id"],)
        ).fetchall()
    assert profile["username"] == "prof_user" and roles == [{"role": "member"}]
