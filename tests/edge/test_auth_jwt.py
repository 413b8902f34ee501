"""Every way a bearer token is accepted or refused, against /functions/v1/me (DB-backed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from edge_helpers import (
    PREFIX,
    LocalServer,
    assert_error,
    bearer,
    make_client,
    new_user,
    token_for,
)


@pytest.fixture(scope="module")
def user(admin_url):
    return new_user(admin_url, username="jwt_user")


def test_hs256_user_token_reads_the_account_as_the_user(client, user):
    response = client.get(f"{PREFIX}/me", headers=bearer(token_for(user)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_id"] == user.id and body["via_api_key"] is None
    assert (
        body["account"]["email"] == user.email
    )  # returned by api.accounts_get_my_account as the user


def test_no_credential_is_401(client):
    assert_error(client.get(f"{PREFIX}/me"), 401, "not_authenticated")
    assert_error(
        client.get(f"{PREFIX}/me", headers={"Authorization": "Basic eDp5"}),
        401,
        "edge_token_invalid",
    )


def test_expired_token(client, user):
    now = int(time.time())
    token = token_for(user, iat=now - 7200, exp=now - 3600)
    assert_error(client.get(f"{PREFIX}/me", headers=bearer(token)), 401, "edge_token_expired")


def test_tampered_token(client, user):
    header, payload, signature = token_for(user).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "00000000-0000-0000-0000-000000000000"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    body = assert_error(
        client.get(f"{PREFIX}/me", headers=bearer(f"{header}.{forged}.{signature}")),
        401,
        "edge_token_invalid",
    )
    assert body["details"]["reason"] == "InvalidSignatureError"


def test_alg_none_is_refused(client, user):
    token = jwt.encode(user.claims, None, algorithm="none")
    body = assert_error(
        client.get(f"{PREFIX}/me", headers=bearer(token)), 401, "edge_token_invalid"
    )
    assert body["details"]["reason"] == "algorithm not allowed"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"aud": "somebody-else"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"role": "postgres"}, "role not allowed"),
    ],
)
def test_wrong_audience_issuer_or_role(client, user, change, reason):
    body = assert_error(
        client.get(f"{PREFIX}/me", headers=bearer(token_for(user, **change))),
        401,
        "edge_token_invalid",
    )
    assert body["details"]["reason"] == reason


def test_garbage_and_secrets_are_not_logged(client, user, caplog):
    token = token_for(user, exp=1)
    with caplog.at_level(logging.INFO):
        client.get(f"{PREFIX}/me", headers=bearer(token))
        client.get(f"{PREFIX}/me", headers=bearer("not-a-jwt"))
    assert token not in caplog.text
    assert "not-a-jwt" not in caplog.text
    assert '"status": 401' in caplog.text  # the access log line is there


# -- JWKS (asymmetric keys, as Supabase's current signing keys) --------------------------------
def jwk(public_key, kid: str, alg: str) -> dict:
    data = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(public_key))
    return {**data, "kid": kid, "alg": alg, "use": "sig"}


@pytest.fixture(scope="module")
def keys():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return {"rsa": rsa_key, "ec": ec_key}


@pytest.fixture(scope="module")
def jwks_server(keys):
    from http.server import BaseHTTPRequestHandler

    body = json.dumps(
        {
            "keys": [
                jwk(keys["rsa"].public_key(), "rsa-1", "RS256"),
                jwk(keys["ec"].public_key(), "ec-1", "ES256"),
            ]
        }
    ).encode()
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with LocalServer(Handler) as server:
        server.hits = hits
        yield server


@pytest.fixture
def jwks_client(app_url, jwks_server):
    with make_client(app_url, jwks_url=f"{jwks_server.url}/auth/v1/.well-known/jwks.json") as c:
        yield c


@pytest.mark.parametrize(
    ("kind", "kid", "alg"), [("rsa", "rsa-1", "RS256"), ("ec", "ec-1", "ES256")]
)
def test_asymmetric_tokens_from_jwks(jwks_client, jwks_server, keys, user, kind, kid, alg):
    token = jwt.encode(user.claims, keys[kind], algorithm=alg, headers={"kid": kid})
    for _ in range(3):
        response = jwks_client.get(f"{PREFIX}/me", headers=bearer(token))
        assert response.status_code == 200, response.text
    assert len(jwks_server.hits) <= 2  # keys are cached, not fetched per request


def test_unknown_kid_and_foreign_key(jwks_client, user):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unknown = jwt.encode(user.claims, other, algorithm="RS256", headers={"kid": "nope"})
    assert_error(
        jwks_client.get(f"{PREFIX}/me", headers=bearer(unknown)), 401, "edge_token_invalid"
    )
    forged = jwt.encode(user.claims, other, algorithm="RS256", headers={"kid": "rsa-1"})
    assert_error(jwks_client.get(f"{PREFIX}/me", headers=bearer(forged)), 401, "edge_token_invalid")


def test_hs_rs_confusion_is_refused(jwks_client, keys, user):
    """An HS256 token whose HMAC key is the (public) RSA key must not verify."""
    pem = (
        keys["rsa"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
        + "."
        + b64(json.dumps(user.claims).encode())
    )
    sig = b64(hmac.new(pem, signing.encode(), hashlib.sha256).digest())
    assert_error(
        jwks_client.get(f"{PREFIX}/me", headers=bearer(f"{signing}.{sig}")),
        401,
        "edge_token_invalid",
    )


def test_rs256_refused_without_jwks(client, keys, user):
    token = jwt.encode(user.claims, keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"})
    assert_error(client.get(f"{PREFIX}/me", headers=bearer(token)), 401, "edge_token_invalid")


def test_verified_tokens_are_cached_never_past_expiry(client, user):
    """The verified-token cache: a token is verified once, trusted again until the earlier
    of a minute and its `exp`; a forged variant of a cached token is still refused, and a
    caller mutating the claims it got does not change what the next request sees."""
    verifier = client.app.state.verifier
    now = int(time.time())
    token = token_for(user, iat=now, exp=now + 30)
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 200
    until, claims = verifier._verified[token]
    assert until <= now + 30 and claims["sub"] == user.id
    verifier.verify(token)["sub"] = "someone else"
    assert verifier.verify(token)["sub"] == user.id
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert_error(client.get(f"{PREFIX}/me", headers=bearer(forged)), 401, "edge_token_invalid")
    assert forged not in verifier._verified
    # an entry whose time is up is verified again (here: refused, as expired)
    expired = token_for(user, iat=now - 7200, exp=now - 3600)
    verifier._verified[expired] = (now - 1, dict(claims))
    assert_error(client.get(f"{PREFIX}/me", headers=bearer(expired)), 401, "edge_token_expired")
