"""GET /rest/v1/ through the real gateway: the committed OpenAPI document (docs/reference/
openapi.json) generated from the live database, with the request's origin as `servers`,
PostgREST's media types at its root, HEAD, and a rebuild only when the schema reloads."""

from __future__ import annotations

import json

import httpx
import pytest

from flagship.reference import document


@pytest.fixture
def root(gateway):
    def get(method: str = "GET", **headers: str) -> httpx.Response:
        return httpx.request(
            method,
            f"{gateway.url}/rest/v1/",
            headers={"apikey": gateway.anon_key, **headers},
            timeout=60,
        )

    return get


def test_the_gateway_serves_the_committed_document(gateway, root):
    r = root(Accept="application/openapi+json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/openapi+json; charset=utf-8"
    served = r.json()
    host = gateway.url.removeprefix("http://")
    assert served["servers"] == document.servers(f"http://{host}")
    committed = json.loads(document.DOC.read_text())
    assert {**served, "servers": None} == {**committed, "servers": None}


def test_servers_follow_the_host_header(root):
    r = root(Host="api.example.test:8443")
    assert r.json()["servers"][0]["url"] == "http://api.example.test:8443"
    r = root(Host='evil"host')  # not a host: the local default, never echoed
    assert r.json()["servers"][0]["url"] == document.LOCAL_SERVER


@pytest.mark.parametrize(
    ("accept", "served"),
    [
        ("application/json", "application/json"),
        ("application/openapi+json", "application/openapi+json"),
        ("*/*", "application/openapi+json"),
        ("text/html, application/json;q=0.9", "application/json"),
    ],
)
def test_accepted_media_types(root, accept, served):
    r = root(Accept=accept)
    assert r.status_code == 200
    assert r.headers["content-type"] == f"{served}; charset=utf-8"


def test_an_unknown_accept_is_406_in_postgrest_shape(root):
    r = root(Accept="text/csv")
    assert r.status_code == 406
    assert r.json() == {
        "code": "PGRST107",
        "details": None,
        "hint": None,
        "message": "None of these media types are available: text/csv",
    }


def test_head_answers_headers_only(root):
    r = root("HEAD")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-type"].startswith("application/openapi+json")


def test_writes_to_the_root_are_refused(root):
    r = root("POST")
    assert r.status_code == 405 and r.json()["code"] == "PGRST117"


def test_no_apikey_no_document(gateway):
    assert httpx.get(f"{gateway.url}/rest/v1/").status_code == 401


def test_built_once_per_schema_cache(gateway, root):
    service = gateway.app.state.rest
    root()
    builds = service.reference.builds
    root(Host="other.example.test")
    root()
    assert service.reference.builds == builds  # cached: other hosts re-render only
    gateway.reload_schema()  # what NOTIFY pgrst, 'reload schema' does
    assert root().status_code == 200
    assert service.reference.builds == builds + 1
