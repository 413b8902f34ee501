"""The local stack the tutorials and reference examples run against: a database of the
module's own, a gateway (Auth, REST, Storage, the edge) on a free loopback port, a second
gateway over the same database whose assistant has an OpenAI-compatible model (the fake
server), and a sync worker delivering jobs and webhooks in a thread, as `flagship up` does."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from ai.settings import AISettings
from flagship.testing.fake_openai import API_KEY, FakeOpenAI
from flagship.testing.gateway import GatewayServer, serve_gateway
from flagship.testing.servers import free_port
from gateway import config as gateway_config
from sync.settings import WebhookSettings
from sync.webhooks import WebhookQueue
from sync.worker import Worker


@dataclass
class Stack:
    admin_url: str
    app_url: str
    servers: dict[str, GatewayServer]  # "default" (embedded default) and "model"
    workdir: Path


def tutorial_config(ai: AISettings | None = None) -> gateway_config.GatewayConfig:
    """config.toml with email confirmations off (sign-up returns a session, as the
    tutorials say) and sign-in limits a whole run of pages cannot reach."""
    cfg = gateway_config.load()
    toml = copy.deepcopy(cfg.toml)
    toml["auth"]["email"]["enable_confirmations"] = False
    toml["auth"]["rate_limit"].update(sign_in_sign_ups=10_000, token_refresh=10_000)
    edge = cfg.edge if ai is None else replace(cfg.edge, ai=ai)
    return replace(cfg, toml=toml, edge=edge)


class WorkerThread:
    """The sync worker (outbox jobs: indexing, mail, webhooks) polling in a thread; its
    webhook queue admits http to 127.0.0.1, as WEBHOOK_ALLOW_HTTP=1 and
    WEBHOOK_ALLOW_ADDRESSES=127.0.0.1 do locally."""

    def __init__(self, app_url: str) -> None:
        hooks = WebhookSettings(
            allow_http=True, allow_addresses=("127.0.0.1",), connect_timeout=2.0, read_timeout=5.0
        )
        self.worker = Worker(app_url, queues=[WebhookQueue(hooks)], poll_interval=0.2)
        self.thread = threading.Thread(target=self.worker.run, name="docs-worker", daemon=True)

    def __enter__(self) -> WorkerThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.worker.stop()
        self.thread.join(timeout=30)
        self.worker.shutdown()


@pytest.fixture(scope="module")
def stack(test_server, tmp_path_factory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("docs")
    port = free_port()
    with (
        # The edge's uploads and the worker's file jobs reach Storage at SUPABASE_URL: this
        # stack's gateway, as on a local project.
        pytest.MonkeyPatch.context() as env,
        test_server.database() as (admin_url, app_url),
        FakeOpenAI() as model,
    ):
        env.setenv("SUPABASE_URL", f"http://127.0.0.1:{port}")
        with serve_gateway(app_url, cfg=tutorial_config(), port=port) as default:
            yield from _with_model_and_worker(admin_url, app_url, default, model, workdir)


def _with_model_and_worker(admin_url, app_url, default, model, workdir) -> Iterator[Stack]:
    with (
        serve_gateway(
            app_url,
            cfg=tutorial_config(AISettings(openai_api_key=API_KEY, openai_base_url=model.base_url)),
        ) as with_model,
        WorkerThread(app_url),
    ):
        yield Stack(admin_url, app_url, {"default": default, "model": with_model}, workdir)
