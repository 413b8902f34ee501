"""Gateway benchmark: /rest/v1 over loopback, at 1 and 50 concurrent clients.

Starts `python -m gateway` as a subprocess on a free 127.0.0.1 port against a fresh
migrated database with generated users, then drives it with httpx async clients, each
sending a bounded number of requests, for three operations:
- a view read with filters: GET /rest/v1/accounts_profiles?username=like.…&order=…&limit=20
- an RPC read: GET /rest/v1/rpc/accounts_get_my_account
- an RPC write: POST /rest/v1/rpc/accounts_update_my_profile (each client its own user)
It also times the same view read made directly through `flagship.database.as_caller`
(one pooled connection, no HTTP), so the report shows the gateway's own overhead. Any
non-2xx answer fails the run. Numbers are only meaningful on an otherwise idle machine.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

import httpx

from flagship import config, tokens
from flagship.bench.runner import Bench, Result, start_service, stop_process
from flagship.database import as_caller, connect
from flagship.testing.harness import create_user
from flagship.testing.servers import free_port

CONCURRENCY = (1, 50)
VIEW = "/accounts_profiles"
VIEW_PARAMS = {
    "select": "id,username,display_name",
    "username": "like.gwbench*",
    "order": "username.asc",
    "limit": "20",
}
DIRECT_SQL = (
    "select coalesce(json_agg(t), '[]')::text as body from (select id, username, display_name"
    " from api.accounts_profiles where username like 'gwbench%%' order by username asc"
    " limit 20) t"
)


def _start(app_url: str, port: int, **extra_env: str) -> subprocess.Popen:
    env = {
        **os.environ,
        **extra_env,
        "DATABASE_URL": app_url,
        "EDGE_HOST": "127.0.0.1",
        "EDGE_PORT": str(port),
        "EDGE_RATE_LIMIT_IP": "100000000/60",
        "EDGE_RATE_LIMIT_USER": "100000000/60",
    }
    return start_service("gateway", env, f"http://127.0.0.1:{port}/functions/v1/health")


async def _drive(
    base: str, anon: str, op: str, tokens_: list[str], clients: int, per_client: int
) -> tuple[list[float], float, list[str]]:
    samples: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def one_client(index: int, http: httpx.AsyncClient) -> None:
        headers = {"apikey": anon, "Authorization": f"Bearer {tokens_[index % len(tokens_)]}"}
        for i in range(per_client + 3):
            start = time.perf_counter()
            try:
                if op == "view":
                    r = await http.get(f"{base}{VIEW}", params=VIEW_PARAMS, headers=headers)
                elif op == "rpc_read":
                    r = await http.get(f"{base}/rpc/accounts_get_my_account", headers=headers)
                else:
                    body = {"p_changes": {"display_name": f"Bench {index} {i}"}}
                    r = await http.post(
                        f"{base}/rpc/accounts_update_my_profile", headers=headers, json=body
                    )
            except httpx.TransportError as exc:
                errors.append(f"{type(exc).__name__} {exc}")
                continue
            took = (time.perf_counter() - start) * 1000
            if not r.is_success:
                errors.append(f"{r.status_code} {r.text[:200]}")
            if i >= 3:  # the first requests of each client warm its connection
                samples.append(took)

    # One AsyncClient (one keep-alive connection) per simulated client: a shared client's
    # pool would make the load generator's locking part of what is measured.
    https = [httpx.AsyncClient(timeout=30, limits=limits) for _ in range(clients)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(one_client(i, http) for i, http in enumerate(https)))
        wall = time.perf_counter() - started
    finally:
        for http in https:
            await http.aclose()
    return samples, wall, errors


def _direct(bench: Bench, app_url: str, claims: dict, calls: int) -> Result:
    authenticator = (
        app_url.replace("postgres@", "authenticator@", 1) if "postgres@" in app_url else app_url
    )
    with connect(authenticator) as conn:

        def once(_: int) -> None:
            with conn.transaction(), as_caller(conn, claims, method="GET", path=VIEW, reset=False):
                conn.execute(DIRECT_SQL).fetchone()

        return bench.measure(
            "direct as_caller: view read (no HTTP)", once, calls, warmup=20, note="1 client"
        )


def run(bench: Bench, scale: float) -> None:
    per_client_1 = max(100, int(1000 * scale))
    per_client_50 = max(10, int(60 * scale))
    admin_url, app_url = bench.database()
    settings = config.Settings.from_env()
    with connect(admin_url) as conn:
        users = [create_user(conn, username=f"gwbench_{i:03d}") for i in range(50)]
        conn.commit()
    user_tokens = [tokens.sign(u.claims, settings.jwt_secret) for u in users]
    from gateway.keys import project_keys

    anon = project_keys(settings.jwt_secret).anon
    port = free_port()
    process = _start(app_url, port)
    base = f"http://127.0.0.1:{port}/rest/v1"
    total = 0
    wall_total = 0.0
    try:
        p50_at_1 = {}
        for clients in CONCURRENCY:
            per_client = per_client_1 if clients == 1 else per_client_50
            for op, label in (
                ("view", "view read (filters, order, limit)"),
                ("rpc_read", "RPC read (GET, stable)"),
                ("rpc_write", "RPC write (POST, volatile)"),
            ):
                samples, wall, errors = asyncio.run(
                    _drive(base, anon, op, user_tokens, clients, per_client)
                )
                if errors:
                    raise RuntimeError(
                        f"{label} at {clients} clients: {len(errors)} errors, e.g. {errors[0]}"
                    )
                result = Result(
                    f"{label} x{clients}",
                    samples,
                    f"{clients} clients, {len(samples) / wall:.0f} req/s",
                )
                bench.results.append(result)
                total += len(samples)
                wall_total += wall
                if clients == 1:
                    p50_at_1[op] = result.percentile(50)
        direct = _direct(bench, app_url, users[0].claims, per_client_1)
        overhead = p50_at_1["view"] - direct.percentile(50)
        bench.add_line(
            f"gateway overhead over as_caller (view read, 1 client, p50): {overhead:.3f} ms"
        )
        bench.add_line(f"gateway: {total} requests over loopback in {wall_total:.1f}s")
        bench.rps = total / wall_total if wall_total else None
    finally:
        stop_process(process)
