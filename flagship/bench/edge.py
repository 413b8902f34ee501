"""Edge benchmark: the HTTP service under concurrent load, over loopback only.

Starts `python -m edge` as a subprocess on a free 127.0.0.1 port against a fresh migrated
database, then drives it from several threads with httpx for a bounded number of requests:
`GET /functions/v1/health` (no database) and `GET /functions/v1/me` (a user JWT verified,
then `api.accounts_get_my_account()` run as that user in one transaction). Reports p50/p95 per
endpoint and overall requests/second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx

from flagship import config, tokens
from flagship.bench.runner import Bench
from flagship.database import connect
from flagship.testing.harness import create_user
from flagship.testing.servers import free_port

THREADS = 8
STARTUP_TIMEOUT = 30.0
PREFIX = "/functions/v1"


def _drive(
    bench: Bench, name: str, url: str, headers: dict, total: int, threads_n: int = THREADS
) -> float:
    """`total` requests from `threads_n` threads; returns the wall time in seconds."""
    per_thread = max(1, total // threads_n)
    samples: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        local = []
        with httpx.Client(timeout=10) as http:
            for _ in range(5):
                http.get(url, headers=headers)  # warm-up
            for _ in range(per_thread):
                start = time.perf_counter()
                response = http.get(url, headers=headers)
                local.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{name}: {len(errors)} failed requests, e.g. {errors[0]}")
    result = bench.measure(name, lambda i: None, calls=0, warmup=0)
    result.samples_ms = samples
    result.note = f"{threads_n} threads, {len(samples) / wall:.0f} req/s"
    return len(samples) / wall


def run(bench: Bench, scale: float) -> None:
    total = max(400, int(4000 * scale))
    admin_url, app_url = bench.database()
    with connect(admin_url) as conn:
        user = create_user(conn, username="bench_edge")
        conn.commit()
    token = tokens.sign(user.claims, config.Settings.from_env().jwt_secret)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app_url,
        "EDGE_HOST": "127.0.0.1",
        "EDGE_PORT": str(port),
        "EDGE_LOG_LEVEL": "warning",
        "EDGE_RATE_LIMIT_IP": "100000000/60",
        "EDGE_RATE_LIMIT_USER": "100000000/60",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "edge"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}{PREFIX}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError("the edge exited during startup")
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the edge did not become ready")
            time.sleep(0.1)
        started = time.perf_counter()
        _drive(bench, "GET /health", f"{base}/health", {}, total)
        _drive(
            bench,
            "GET /me (JWT + DB as user)",
            f"{base}/me",
            {"Authorization": f"Bearer {token}"},
            total,
        )
        _drive(
            bench,
            "GET /me, 50 concurrent",
            f"{base}/me",
            {"Authorization": f"Bearer {token}"},
            total,
            threads_n=50,
        )
        wall = time.perf_counter() - started
        count = sum(len(r.samples_ms) for r in bench.results)
        bench.rps = count / wall
        bench.add_line(f"edge: {count} requests over loopback in {wall:.1f}s")
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
