"""The /rest/v1 endpoint: authenticate, parse, build, run as the caller, answer.

Each request is one transaction on a pooled `authenticator` connection, acting as the
caller through `flagship.database.as_caller` (role, claims, request GUCs, pre-request),
READ ONLY for GET/HEAD and for stable/immutable functions, exactly as PostgREST.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from edge.client import client_ip_of
from edge.db import Availability, connection_lost
from edge.middleware import request_id_of
from edge.observability import logger
from flagship.database import as_caller
from gateway import keys
from gateway.config import GatewayConfig
from gateway.rest import negotiate, openapi, response, schema_cache
from gateway.rest.errors import PgrstError, from_database
from gateway.rest.plan import Plan, plan_request
from gateway.rest.replica import ReadRouting

log = logger("gateway.rest")
# Credentials stay out of `request.headers` (SQL may log it); cookies have their own GUC.
SECRET_HEADERS = frozenset({"authorization", "apikey", "cookie"})
JWT_CACHE_SIZE = 10_000
REST_THREADS = 10  # = the pool's size (gateway.app.REST_POOL_MAX)
JWT_CACHE_SECONDS = 60


class RestService:
    """Holds the pool, the schema cache and the JWT checker of /rest/v1."""

    def __init__(
        self,
        config: GatewayConfig,
        pool: ConnectionPool,
        read_pool: ConnectionPool | None = None,
        routing: ReadRouting | None = None,
        edge_openapi: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.read_pool = read_pool  # DATABASE_READ_URL (gateway.rest.replica)
        self.routing = routing or ReadRouting()
        self.keys = keys.project_keys(config.settings.jwt_secret)
        self.jwt = keys.JwtChecker(config.edge)
        self.cache: schema_cache.SchemaCache | None = None
        # As many threads as pooled connections: more would only wait for one, holding the GIL.
        self.limiter = anyio.CapacityLimiter(REST_THREADS)
        self._verified: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        # A database restart answers 503 at once (short pool waits), not after 5 s each.
        self.availability = Availability()
        # GET /rest/v1/: the platform's OpenAPI document, rebuilt when the cache reloads.
        self.reference = openapi.ReferenceCache(pool, edge_openapi or (lambda: {"paths": {}}))

    # -- schema cache ----------------------------------------------------------------

    def reload(self) -> schema_cache.SchemaCache:
        with self._lock, self.pool.connection() as conn:
            conn.read_only = False
            with conn.transaction():
                cache = schema_cache.load(conn, self.config.api.schemas)
        self.cache = cache
        log.info(
            "schema cache loaded",
            relations=len(cache.relations),
            functions=sum(len(v) for v in cache.functions.values()),
        )
        return cache

    def schema(self) -> schema_cache.SchemaCache:
        return self.cache or self.reload()

    # -- requests --------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        try:
            reply = await self.handle(request)
        except keys.KongError as exc:
            reply = Response(json.dumps(exc.body()), exc.status, media_type="application/json")
        except PgrstError as exc:
            reply = error_response(exc)
        await reply(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        headers = request.headers
        keys.check_apikey(headers, request.query_params, self.keys)
        claims = self.caller(headers)
        method = request.method
        if method not in ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"):
            raise PgrstError(405, "PGRST117", f"Unsupported HTTP method: {method}")
        body = await request.body() if method in ("POST", "PATCH", "PUT") else b""
        try:
            cache = self.cache or await run_in_threadpool(self.reload)
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("schema cache unavailable", error=type(exc).__name__)
            raise PgrstError(
                503, "PGRST002", "Could not query the database for the schema cache. Retrying."
            ) from exc
        path = request.url.path[len(request.scope.get("root_path", "")) :] or "/"
        schema, named = negotiate.schema_for(method, headers, self.config.api.schemas)
        if path in ("", "/"):
            if method not in ("GET", "HEAD"):
                raise PgrstError(405, "PGRST117", f"Unsupported HTTP method: {method}")
            return await self.reference_document(request, cache, schema, named)
        plan = plan_request(
            cache,
            self.config,
            schema,
            method,
            path,
            request.query_params.multi_items(),
            headers,
            body,
        )
        outcome = await anyio.to_thread.run_sync(
            self.execute, plan, claims, request, path, limiter=self.limiter
        )
        reply = response.build(plan, outcome)
        if named or len(self.config.api.schemas) > 1:
            reply.headers["Content-Profile"] = schema
        return reply

    async def reference_document(self, request: Request, cache, schema: str, named: bool):
        media = openapi.media_type(request.headers.get("accept"))
        try:
            text = await anyio.to_thread.run_sync(
                self.reference.text, cache, schema, openapi.origin_of(request),
                limiter=self.limiter,
            )  # fmt: skip
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("reference unavailable", error=type(exc).__name__)
            raise PgrstError(
                503, "PGRST002", "Could not query the database for the schema cache. Retrying."
            ) from exc
        headers = {"Content-Profile": schema} if named else {}
        if request.method == "HEAD":
            reply = Response(None, 200, headers=headers)
            reply.headers["Content-Type"] = f"{media}; charset=utf-8"
            return reply
        return Response(text, 200, headers=headers, media_type=f"{media}; charset=utf-8")

    def caller(self, headers) -> dict[str, Any]:
        try:
            token = keys.bearer_token(headers)
            if not token:
                return {"role": "anon"}
            now = time.time()
            cached = self._verified.get(token)
            if cached is not None and cached[0] > now:
                return cached[1]
            claims = self.jwt.claims(token)
            if len(self._verified) >= JWT_CACHE_SIZE:
                self._verified.clear()
            # Remember a verified token for a minute at most, never past its expiry.
            self._verified[token] = (min(now + JWT_CACHE_SECONDS, claims["exp"]), claims)
            return claims
        except keys.JwtError as exc:
            raise PgrstError(
                401, exc.code, exc.message, headers={"WWW-Authenticate": exc.www_authenticate}
            ) from exc

    def execute(
        self, plan: Plan, claims: dict[str, Any], request: Request, path: str
    ) -> dict[str, Any]:
        """Run the plan as the caller; `path` is the one PostgREST sees behind Kong (no
        /rest/v1 prefix)."""
        cache = self.schema()
        role = claims.get("role", "anon")
        visible = {k: v for k, v in request.headers.items() if k not in SECRET_HEADERS}
        visible["x-request-id"] = request_id_of(request.scope) or ""  # the one id (middleware)
        user = claims.get("sub") if role != "anon" else None
        if self.read_pool is not None and self.routing.use_replica(
            request.method, plan.read_only, user
        ):
            try:
                return self._run(self.read_pool, plan, claims, request, path, cache, visible)
            except psycopg.OperationalError as exc:
                if not connection_lost(exc):
                    raise from_database(exc, authenticated=role != "anon") from exc
                self.routing.replica.lost()
                log.warning("replica unavailable; reading from the primary")
        outcome = self._run(self.pool, plan, claims, request, path, cache, visible)
        if not plan.read_only:
            self.routing.wrote(user)
        return outcome

    def _run(self, pool, plan, claims, request, path, cache, visible) -> dict[str, Any]:
        role = claims.get("role", "anon")
        availability = self.availability if pool is self.pool else self.routing.replica
        try:
            with pool.connection(timeout=availability.timeout(None)) as conn:
                conn.read_only = plan.read_only
                # Pipeline mode: BEGIN, the caller's settings and the statement travel
                # together (one round trip instead of three); COMMIT follows.
                with (
                    conn.pipeline(),
                    conn.transaction(),
                    as_caller(
                        conn,
                        claims,
                        method=request.method,
                        path=path,
                        headers=visible,
                        cookies=request.cookies,
                        search_path=", ".join((plan.schema, *self.config.api.extra_search_path)),
                        role_settings=cache.role_settings.get(role),
                        pre_request=cache.pre_request,
                        reset=False,
                        client_ip=client_ip_of(request.scope),
                    ),
                ):
                    return plan.run(conn)
        except psycopg.Error as exc:
            if connection_lost(exc):
                availability.lost()
                if pool is not self.pool:
                    raise
            if isinstance(exc, psycopg.DataError) and exc.diag.sqlstate is None:
                # psycopg refuses a NUL byte in a text value before sending it; the server
                # would answer 22021, which PostgREST answers 400.
                raise PgrstError(
                    400, "22021", 'invalid byte sequence for encoding "UTF8": 0x00'
                ) from exc
            if exc.diag.sqlstate is None:
                log.error("database unavailable", error=type(exc).__name__)
                raise PgrstError(503, "PGRST000", "Database connection error.") from exc
            raise from_database(exc, authenticated=role != "anon") from exc
        except PoolTimeout as exc:
            availability.lost()
            if pool is not self.pool:
                raise
            if self.availability.down:  # the pool is reconnecting: PostgREST's answer then
                raise PgrstError(
                    503, "PGRST001", "Database client error. Retrying the connection."
                ) from exc
            raise PgrstError(
                504, "PGRST003", "Timed out acquiring connection from connection pool."
            ) from exc


def error_response(exc: PgrstError) -> Response:
    headers = {"Proxy-Status": f"PostgREST; error={exc.code}", **exc.headers}
    return Response(
        exc.body(), exc.status, headers=headers, media_type="application/json; charset=utf-8"
    )
