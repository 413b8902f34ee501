"""The gateway as a real uvicorn server on a free loopback port, for tests and benches.

`serve_gateway(url)` runs `gateway.app.create_app` against the database at `url` (the
`postgres` role's URL of a clone) in a background thread and yields where it listens and
the project keys, so the real clients (supabase-js, supabase-py) can be pointed at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from flagship.testing.servers import serve_asgi
from gateway import config as gateway_config
from gateway import keys
from gateway.app import create_app


@dataclass
class GatewayServer:
    url: str
    anon_key: str
    service_key: str
    app: object

    def reload_schema(self) -> None:
        """Reload the schema cache now (as NOTIFY pgrst would, without waiting for it)."""
        self.app.state.rest.reload()


@contextmanager
def serve_gateway(
    database_url: str,
    *,
    schemas: tuple[str, ...] | None = None,
    mount_auth: bool = True,
    read_url: str | None = None,
    storage_root: str | None = None,
    cfg: gateway_config.GatewayConfig | None = None,
    port: int | None = None,
) -> Iterator[GatewayServer]:
    """`cfg` replaces config.toml's configuration (tests that change Auth or the edge);
    `port` is for a caller that had to know the URL first (SUPABASE_URL of the edge)."""
    cfg = cfg or gateway_config.load()
    if schemas is not None:
        cfg = cfg.with_api(schemas=schemas)
    app = create_app(
        cfg,
        database_url=database_url,
        mount_auth=mount_auth,
        read_url=read_url,
        storage_root=storage_root,
    )
    with serve_asgi(
        app,
        port=port,
        name="gateway-test",
        timeout_keep_alive=75,
        proxy_headers=False,  # as the real gateway: the app resolves client addresses
    ) as url:
        httpx.get(f"{url}/functions/v1/health", timeout=5)
        project = keys.project_keys(cfg.settings.jwt_secret)
        yield GatewayServer(url, project.anon, project.service_role, app)
