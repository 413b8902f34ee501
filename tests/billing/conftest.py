"""Billing fixtures: the fake Stripe server, the edge app pointed at it, users and tokens."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from urllib.parse import urlsplit

import fake_stripe
import pytest
from fake_stripe import FakeStripe

from edge.app import PREFIX, create_app
from flagship.database import connect
from flagship.testing.harness import with_database
from flagship.testing.servers import serve_asgi

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def billing_db(test_server) -> Iterator[str]:
    """A database of this module's own (the edge commits): superuser URL."""
    name = test_server.clone()
    try:
        yield test_server.admin(name)
    finally:
        test_server.drop(name)


@pytest.fixture(scope="module")
def billing_app_url(billing_db, test_server) -> str:
    """The same database as the application role, which the edge and worker run as."""
    return with_database(billing_db, urlsplit(billing_db).path.lstrip("/"), test_server.app_user)


@pytest.fixture
def admin_conn(billing_db):
    with connect(billing_db, autocommit=True) as conn:
        yield conn


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stripe_env(monkeypatch, fake) -> FakeStripe:
    """Payments configured, pointed at the fake (never the network)."""
    monkeypatch.setenv("STRIPE_SECRET_KEY", fake.api_key)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", fake_stripe.WEBHOOK_SECRET)
    monkeypatch.setenv("STRIPE_API_BASE", fake.url)
    monkeypatch.setenv("SITE_URL", "https://app.flagship.test")
    return fake


@pytest.fixture
def webhook_only_env(monkeypatch):
    """Only the webhook secret: events are applied from their snapshots (no re-read)."""
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    monkeypatch.delenv("STRIPE_API_BASE", raising=False)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", fake_stripe.WEBHOOK_SECRET)


@pytest.fixture
def no_stripe_env(monkeypatch):
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def client(billing_app_url) -> Iterator[TestClient]:
    """The edge app; build it after the env fixtures so it reads their settings."""
    with TestClient(create_app(database_url=billing_app_url)) as c:
        yield c


@pytest.fixture
def live_edge(billing_app_url) -> Iterator[str]:
    """The edge served by uvicorn on a loopback port, for truly concurrent deliveries."""
    with serve_asgi(create_app(database_url=billing_app_url), name="edge-test") as url:
        yield f"{url}{PREFIX}"
