"""The API playground (edge.playground) in headless Chromium: offline, strict CSP, working.

The gateway's `/docs` (the document of `/rest/v1/`) and the edge's `/functions/v1/docs` are
opened in Debian's Chromium through the pinned puppeteer-core (tests/js/playground.mjs),
with every request intercepted: anything not on 127.0.0.1 fails the test. Each page must
render every tag of its document, offer the anon key, a user token and an API key in
Authorize, and answer 200 to a "Try it out" call made with Authorize set.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest

from edge import playground
from flagship import config, tokens
from flagship.database import connect
from flagship.testing.harness import create_user, rpc
from flagship.testing.node import run_node

SCRIPT = Path(__file__).parents[1] / "js" / "playground.mjs"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# What playground.js adds to a document that declares no security scheme.
ADDED = {"anonKey", "userJwt", "apiKey"}


def document_tags(doc: dict) -> set[str]:
    """The tags Swagger UI shows: each operation's, or "default" for an untagged one."""
    tags: set[str] = set()
    for item in doc["paths"].values():
        for method, operation in item.items():
            if method in METHODS:
                tags.update(operation.get("tags") or ["default"])
    return tags


def declared_schemes(doc: dict) -> dict:
    return doc.get("securityDefinitions") or doc.get("components", {}).get("securitySchemes") or {}


def anon_scheme(doc: dict) -> str:
    """The scheme of the `apikey` header: the document's own, or the one the page adds."""
    declared = declared_schemes(doc)
    found = [n for n, s in declared.items() if s.get("name", "").lower() == "apikey"]
    return found[0] if declared else "anonKey"


def tag_of(doc: dict, path: str, method: str) -> str:
    return (doc["paths"][path][method].get("tags") or ["default"])[0]


def open_page(**page) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required ({CHROMIUM}): scripts/bootstrap.sh --with-pgtap")
    return run_node(
        SCRIPT,
        env={"PAGE": json.dumps(page), "CHROMIUM": CHROMIUM},
        package="puppeteer-core",
        timeout=180,
    )


def check_offline(seen: dict) -> None:
    assert seen["outside"] == [], seen["outside"]
    assert seen["violations"] == [], seen["violations"]
    assert seen["console_errors"] == [], seen["console_errors"]
    assert seen["csp"] == playground.CSP
    assert "http" not in seen["csp"]  # no external origin is allowed


def rest_path(doc: dict, name: str) -> str:
    """The document's path of a view, whatever base the document declares."""
    return next(p for p in doc["paths"] if p.rstrip("/").endswith("/" + name))


@pytest.fixture(scope="module")
def user(gateway_db):
    with connect(gateway_db[0]) as conn:
        owner = create_user(conn, username="playground_user")
        key = rpc(conn, owner, "accounts_create_api_key", p_name="pg", p_scopes=["profile:read"])
        conn.commit()
    return owner, key["key"]


def test_the_gateway_playground_renders_authorizes_and_tries_offline(gateway, user):
    owner, _ = user
    doc = httpx.get(f"{gateway.url}/rest/v1/", headers={"apikey": gateway.anon_key}).json()
    path = rest_path(doc, "learning_my_enrollments")  # authenticated only: anon gets 401
    token = tokens.sign(owner.claims, config.Settings.from_env().jwt_secret)
    names = set(declared_schemes(doc)) or ADDED
    user_scheme = "userSession" if "userSession" in names else "userJwt"
    seen = open_page(
        url=f"{gateway.url}/docs",
        tag=tag_of(doc, path, "get"),
        method="GET",
        path=path,
        scheme=user_scheme,
        token=token,
    )
    check_offline(seen)
    assert set(seen["tags"]) == document_tags(doc)
    offered = {s["name"]: s for s in seen["schemes"]}
    assert set(offered) == names and len(names) >= 3  # the anon key, a user, an API key
    anon = offered[anon_scheme(doc)]
    assert anon["authorized"]  # pre-filled with the project's anon key
    assert "apikey" in anon["text"]
    assert seen["shown_status"] == "200"
    [call] = seen["calls"]
    assert call["status"] == 200 and call["url"].startswith(gateway.url + "/rest/v1/")
    assert call["headers"]["apikey"] == gateway.anon_key
    assert call["headers"]["authorization"] == f"Bearer {token}"


def test_the_edge_playground_takes_an_api_key(gateway, user):
    _, key = user
    doc = httpx.get(f"{gateway.url}/functions/v1/openapi.json").json()
    seen = open_page(
        url=f"{gateway.url}/functions/v1/docs",
        tag=tag_of(doc, "/functions/v1/me", "get"),
        method="GET",
        path="/functions/v1/me",
        scheme="apiKey",
        token=key,
    )
    check_offline(seen)
    assert set(seen["tags"]) == document_tags(doc)
    assert {s["name"] for s in seen["schemes"]} == (set(declared_schemes(doc)) or ADDED)
    assert seen["shown_status"] == "200"
    [call] = seen["calls"]
    assert call["status"] == 200 and call["headers"]["x-api-key"] == key


def test_the_page_serves_only_packaged_assets(gateway):
    base = f"{gateway.url}/docs"
    page = httpx.get(base)
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == playground.CSP
    assert "<script>" not in page.text and "cdn" not in page.text.lower()
    bundle = httpx.get(f"{base}/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith(
        "text/javascript"
    )
    assert len(bundle.content) > 500_000  # the real Swagger UI bundle, from the wheel
    for name in ("../app.py", "..%2F__init__.py", "index.html", "__init__.py"):
        assert httpx.get(f"{base}/assets/{name}").status_code == 404, name
