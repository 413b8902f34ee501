"""Scale-out benchmark: /rest/v1 throughput with 1 and then 2 gateway processes.

`python -m gateway` with GATEWAY_WORKERS=N runs N processes on one listening socket (the
kernel spreads accepted connections over them), each with its own pools and schema cache,
against one fresh migrated database with generated users. The same load — CLIENTS
concurrent keep-alive clients, a bounded number of requests each — is sent for a view read
and an RPC write, and the report gives requests per second at 1 and 2 processes and their
ratio. On a machine with fewer idle cores than processes the ratio stays near 1: the
number says how much this machine had to give, not a property of the code.
"""

from __future__ import annotations

import asyncio

from flagship import config, tokens
from flagship.bench.gateway import _drive, _start
from flagship.bench.runner import Bench, Result, stop_process
from flagship.database import connect
from flagship.testing.harness import create_user
from flagship.testing.servers import free_port

CLIENTS = 32
PROCESSES = (1, 2)
OPERATIONS = (("view", "view read"), ("rpc_write", "RPC write"))


def run(bench: Bench, scale: float) -> None:
    per_client = max(10, int(100 * scale))
    admin_url, app_url = bench.database()
    settings = config.Settings.from_env()
    with connect(admin_url) as conn:
        users = [create_user(conn, username=f"gwbench_{i:03d}") for i in range(CLIENTS)]
        conn.commit()
    user_tokens = [tokens.sign(u.claims, settings.jwt_secret) for u in users]
    from gateway.keys import project_keys

    anon = project_keys(settings.jwt_secret).anon
    rps: dict[tuple[str, int], float] = {}
    for processes in PROCESSES:
        port = free_port()
        process = _start(app_url, port, GATEWAY_WORKERS=str(processes))
        base = f"http://127.0.0.1:{port}/rest/v1"
        try:
            # Every process warms its pools and schema cache before the timed runs.
            asyncio.run(_drive(base, anon, "view", user_tokens, CLIENTS, 3))
            for op, label in OPERATIONS:
                samples, wall, errors = asyncio.run(
                    _drive(base, anon, op, user_tokens, CLIENTS, per_client)
                )
                if errors:
                    raise RuntimeError(f"{label} x{processes}: {len(errors)} errors: {errors[0]}")
                rps[(op, processes)] = len(samples) / wall
                bench.results.append(
                    Result(
                        f"{label}, {processes} process(es)",
                        samples,
                        f"{CLIENTS} clients, {rps[(op, processes)]:.0f} req/s",
                    )
                )
        finally:
            stop_process(process)
    for op, label in OPERATIONS:
        one, two = rps[(op, 1)], rps[(op, 2)]
        bench.add_line(f"{label}: {one:.0f} req/s at 1 process, {two:.0f} at 2: x{two / one:.2f}")
    bench.rps = rps[("view", 2)]
