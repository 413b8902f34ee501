"""The gateway ASGI app: one base URL for every Supabase path, as Kong routes them.

- /rest/v1      PostgREST (gateway.rest), apikey required;
- /auth/v1      Supabase Auth (gateway.auth, when present), apikey required there;
- /storage/v1   Supabase Storage (gateway.storage): buckets, objects, signed URLs, image
                transformations, bytes in a local directory (FILE_STORAGE_BACKEND_PATH);
- /functions/v1 the edge app, mounted unchanged (it authenticates callers itself);
- anything else: 404 `{"message": "no Route matched with those values"}` (Kong's answer).
CORS for site_url and additional_redirect_urls (config.toml) wraps all of it.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from edge.app import create_app as create_edge_app
from edge.client import ClientAddressMiddleware
from edge.middleware import RequestIdMiddleware
from edge.observability import logger
from flagship.database import direct_url, pool_kwargs
from gateway import config as gateway_config
from gateway.listener import SchemaListener
from gateway.rest.app import RestService
from gateway.rest.replica import READ_AFTER_WRITE_SECONDS, ReadRouting

log = logger("gateway")
CORS_HEADERS = [
    "apikey",
    "authorization",
    "x-client-info",
    "content-type",
    "prefer",
    "range",
    "accept-profile",
    "content-profile",
    "x-upsert",
    "x-metadata",
    "cache-control",
    "accept",
    "x-request-id",
]
EXPOSE_HEADERS = [
    "content-range",
    "content-profile",
    "location",
    "preference-applied",
    "x-request-id",
    "retry-after",
    "etag",
    "content-disposition",
    "x-transformations",
]
REST_POOL_MAX = 10


def with_user(url: str, user: str) -> str:
    """The same server and database, logged in as `user` (no password: local trust)."""
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres"):
        host = parts.netloc.split("@", 1)[-1]
        return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))
    return f"{url} user={user}"


def _json(status: int, body: dict) -> Response:
    return Response(json.dumps(body), status, media_type="application/json")


class Router:
    """Dispatch by path prefix; each service sees its prefix as root_path."""

    def __init__(self, services: dict[str, object], edge) -> None:
        self.services = services
        self.edge = edge

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return
        path = scope["path"]
        if path.startswith("/functions/v1"):
            await self.edge(scope, receive, send)
            return
        for prefix, app in self.services.items():
            if path == prefix or path.startswith(prefix + "/"):
                child = dict(scope)
                child["root_path"] = scope.get("root_path", "") + prefix
                await app(child, receive, send)
                return
        await _json(404, {"message": "no Route matched with those values"})(scope, receive, send)


async def auth_not_served(scope, receive, send) -> None:
    await _json(
        404,
        {
            "code": 404,
            "error_code": "not_found",
            "msg": "Supabase Auth is not served by this gateway build",
        },
    )(scope, receive, send)


def create_app(
    cfg: gateway_config.GatewayConfig | None = None,
    *,
    database_url: str | None = None,
    authenticator_url: str | None = None,
    mount_auth: bool = True,
    read_url: str | None = None,
    storage_root: str | None = None,
) -> Starlette:
    """The whole gateway; `database_url` overrides the target (tests use their clone)."""
    import os

    cfg = cfg or gateway_config.load()
    if database_url is None:
        from flagship.target import resolve

        database_url = resolve(cfg.settings).url
    authenticator_url = (
        authenticator_url
        or os.environ.get("AUTHENTICATOR_URL")
        or with_user(database_url, "authenticator")
    )
    edge = create_edge_app(cfg.settings, database_url=database_url, edge=cfg.edge)
    rest_pool = ConnectionPool(
        authenticator_url,
        min_size=2,
        max_size=REST_POOL_MAX,
        open=False,
        name="rest",
        timeout=5.0,
        kwargs={
            "row_factory": dict_row,
            "application_name": "flagship-gateway-rest",
            **pool_kwargs(),
        },
    )
    app_pool = ConnectionPool(
        database_url,
        min_size=1,
        max_size=5,
        open=False,
        name="gateway",
        timeout=5.0,
        kwargs={"application_name": "flagship-gateway", **pool_kwargs()},  # tuple rows
    )
    # DATABASE_READ_URL: a streaming replica for the reads that may go there
    # (gateway.rest.replica); its `authenticator` login, as on the primary.
    read_url = read_url or os.environ.get("DATABASE_READ_URL") or None
    read_pool = None
    if read_url:
        read_pool = ConnectionPool(
            with_user(read_url, "authenticator"),
            min_size=1,
            max_size=REST_POOL_MAX,
            open=False,
            name="rest-read",
            timeout=5.0,
            kwargs={
                "row_factory": dict_row,
                "application_name": "flagship-gateway-read",
                **pool_kwargs(),
            },
        )
    routing = ReadRouting(
        float(os.environ.get("DATABASE_READ_AFTER_WRITE_SECONDS", READ_AFTER_WRITE_SECONDS)),
        cfg.edge.redis_url,
    )
    rest = RestService(cfg, rest_pool, read_pool, routing, edge_openapi=edge.openapi)
    from flagship import config as flagship_config
    from gateway.storage.app import StorageService

    storage_root = storage_root or os.environ.get("FILE_STORAGE_BACKEND_PATH")
    storage = StorageService(
        cfg, rest_pool, Path(storage_root or flagship_config.STATE_DIR / "storage"), rest.caller
    )
    services: dict[str, object] = {"/rest/v1": rest, "/storage/v1": storage}
    if mount_auth and importlib.util.find_spec("gateway.auth.app") is not None:
        app_pool.open(wait=False)  # the Auth app prepares its own pool from this one
        from gateway.auth.app import create_auth_app

        services["/auth/v1"] = create_auth_app(cfg, app_pool)
    else:
        services["/auth/v1"] = auth_not_served
    # LISTEN needs a session of its own: the server itself, never a transaction pooler.
    listener = SchemaListener(direct_url(database_url), rest.reload)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        rest_pool.open(wait=False)
        if read_pool is not None:
            read_pool.open(wait=False)
        if app_pool.closed:
            app_pool.open(wait=False)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(edge.router.lifespan_context(edge))
            for service in services.values():
                ctx = getattr(service, "router", None)
                if ctx is not None and hasattr(ctx, "lifespan_context"):
                    await stack.enter_async_context(ctx.lifespan_context(service))
            try:
                rest.reload()
            except Exception as exc:  # the first request retries
                log.warning("schema cache not loaded at startup", error=str(exc))
            listener.start()
            try:
                yield
            finally:
                listener.stop()
                rest_pool.close()
                if read_pool is not None:
                    read_pool.close()
                app_pool.close()

    app = Starlette(lifespan=lifespan)
    app.state.config = cfg
    app.state.rest = rest
    app.state.listener = listener
    app.mount("", Router(services, edge))
    # The client's address, once, for every service (trusted proxies only, as the edge).
    app.add_middleware(ClientAddressMiddleware, proxies=cfg.edge.trusted_proxies)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(dict.fromkeys((*cfg.cors_origins, *cfg.edge.cors_origins))),
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=CORS_HEADERS,
        expose_headers=EXPOSE_HEADERS,
        allow_credentials=True,
        max_age=3600,
    )
    # One request id for every service (X-Request-Id accepted or minted, edge.middleware),
    # added last so it is outermost: CORS answers carry it too.
    app.add_middleware(RequestIdMiddleware)
    return app
