"""The seeded users sign in with the passwords the README and `make up` list."""

from __future__ import annotations

import pytest
from auth_helpers import claims, client, module_gateway

from flagship import migrate
from gateway.auth import SEED_USERS, seed_users_banner
from gateway.auth.config import AuthConfigError, duration_seconds


@pytest.fixture(scope="module")
def gw(test_server):
    for server in module_gateway(test_server):
        migrate.seed(server.app_url)
        migrate.seed(server.app_url)  # re-runnable
        yield server


@pytest.mark.parametrize(("email", "password", "role"), SEED_USERS)
def test_seeded_user_signs_in(gw, email, password, role):
    with client(gw) as c:
        body = c.post(
            "/token", params={"grant_type": "password"}, json={"email": email, "password": password}
        ).json()
        assert body["user"]["identities"][0]["provider"] == "email"
        roles = claims(body["access_token"])["user_roles"]
        assert role in roles or role in ("learner", "player")
        wrong = c.post(
            "/token",
            params={"grant_type": "password"},
            json={"email": email, "password": password + "x"},
        )
        assert wrong.status_code == 400


def test_banner_lists_every_seeded_user():
    banner = seed_users_banner()
    for email, password, _ in SEED_USERS:
        assert email in banner and password in banner


def test_config_durations():
    assert duration_seconds("1m0s") == 60 and duration_seconds("1h30m") == 5400
    assert duration_seconds(5) == 5
    with pytest.raises(AuthConfigError):
        duration_seconds("soon")
