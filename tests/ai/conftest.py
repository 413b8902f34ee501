"""AI fixtures: the scene (aikit.py), and for the assistant a database of the module's own
(the edge commits), the fake OpenAI server and the edge app pointed at it. The learning and
CTF scene builders are shared with those suites (recommendation, sentiment, generation)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from aikit import AIScene, build_scene

from ai.settings import AISettings
from edge.app import create_app
from edge.settings import EdgeSettings
from flagship import config
from flagship.database import connect
from flagship.testing.fake_openai import API_KEY, FakeOpenAI

TESTS = Path(__file__).resolve().parents[1]
for suite in ("learning", "ctf"):
    if str(TESTS / suite) not in sys.path:
        sys.path.append(str(TESTS / suite))

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def scene(db) -> AIScene:
    return build_scene(db)


@pytest.fixture(scope="module")
def ai_db(test_server) -> Iterator[tuple[str, str]]:
    """(superuser URL, application-role URL) of a database of this module's own."""
    with test_server.database() as urls:
        yield urls


@pytest.fixture(scope="module")
def world(ai_db) -> AIScene:
    """The scene, committed (the edge reads it from its own connections)."""
    with connect(ai_db[0]) as conn:
        scene = build_scene(conn)
        # Many questions per test user here (the injection corpus alone asks 27);
        # test_requests_per_minute_are_limited sets its own rate.
        conn.execute("update ai.quotas set per_minute = 1000, daily_requests = 1000")
        conn.commit()
    return scene


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def edge_client(app_url: str, ai: AISettings) -> TestClient:
    base = config.Settings.from_env()
    edge = EdgeSettings(jwt_secret=base.jwt_secret, jwt_issuer=base.jwt_issuer, ai=ai)
    return TestClient(create_app(database_url=app_url, edge=edge), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(ai_db, fake_openai) -> Iterator[TestClient]:
    """The edge with `openai` pointed at the fake server (OPENAI_BASE_URL)."""
    ai = AISettings(openai_api_key=API_KEY, openai_base_url=fake_openai.base_url, max_retries=2)
    with edge_client(ai_db[1], ai) as c:
        yield c


@pytest.fixture(scope="module")
def local_client(ai_db) -> Iterator[TestClient]:
    """The edge on the embedded default: no key, no language model."""
    with edge_client(ai_db[1], AISettings()) as c:
        yield c


@pytest.fixture
def admin(ai_db) -> Iterator:
    with connect(ai_db[0], autocommit=True) as conn:
        yield conn
