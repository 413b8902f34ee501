"""Rate limits across processes: shared through a real Redis, and a safe fallback without it."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from edge.app import create_app
from edge.ratelimit import RedisLimiter
from edge.settings import EdgeSettings
from flagship.testing.servers import start_redis

LIMITED = "/functions/v1/openapi.json"  # any route under the per-IP limit


def within_one_window(window: int, margin: float = 20.0) -> None:
    """Shared windows are aligned to the clock (slot = now // window): wait for a fresh one
    when the current one ends within `margin` seconds, so ten requests cannot straddle two."""
    left = window - time.time() % window
    if left < margin:
        time.sleep(left + 0.05)


def test_two_edge_processes_share_one_limit_through_redis(app_url, redis, processes):
    env = {"REDIS_URL": redis.url, "EDGE_RATE_LIMIT_IP": "6/600"}
    first, second = processes.edge(app_url, **env), processes.edge(app_url, **env)
    within_one_window(600)
    answers = []
    for i in range(10):
        r = httpx.get((first, second)[i % 2] + LIMITED, timeout=10)
        answers.append(r.status_code)
    # One budget of 6 for the address, whichever process answers (memory limits would
    # have allowed 6 on each, 10 in all).
    assert answers == [200] * 6 + [429] * 4, answers
    refused = httpx.get(second + LIMITED, timeout=10)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1


def test_without_redis_each_process_counts_alone(app_url, processes):
    """The contrast that makes the test above mean something: memory limits are per process."""
    env = {"EDGE_RATE_LIMIT_IP": "3/60"}
    first, second = processes.edge(app_url, **env), processes.edge(app_url, **env)
    codes = [httpx.get((first, second)[i % 2] + LIMITED, timeout=10).status_code for i in range(6)]
    assert codes == [200] * 6


def metric(client: TestClient, name: str, token: str) -> float:
    text = client.get("/functions/v1/metrics", headers={"authorization": f"Bearer {token}"}).text
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    ]
    assert values, f"{name} missing from /metrics"
    return values[0]


def test_redis_down_falls_back_to_local_limits_and_says_so(app_url, tmp_path, caplog):
    redis = start_redis(tmp_path / "redis")
    token = "m" * 32
    env = {"REDIS_URL": redis.url, "EDGE_RATE_LIMIT_IP": "4/60", "METRICS_TOKEN": token}
    app = create_app(database_url=app_url, edge=EdgeSettings.from_env(env=env))
    try:
        with TestClient(app) as client:
            assert client.get(LIMITED).status_code == 200
            assert metric(client, "flagship_ratelimit_degraded", token) == 0
            redis.stop()
            with caplog.at_level(logging.WARNING, logger="edge.ratelimit"):
                codes = [client.get(LIMITED).status_code for _ in range(5)]
            # Still limited (4 per window in this process), never unlimited, never a 500.
            assert codes == [200] * 4 + [429], codes
            assert "rate limits fall back to process memory" in caplog.text
            assert caplog.text.count("rate limits fall back") == 1  # once per outage
            assert metric(client, "flagship_ratelimit_degraded", token) == 1
            assert metric(client, "flagship_ratelimit_fallback_total", token) >= 5
    finally:
        redis.stop()


def test_the_shared_limit_resumes_when_redis_answers_again(tmp_path):
    redis = start_redis(tmp_path / "redis")
    port = redis.port
    limiter = RedisLimiter(redis.url)
    within_one_window(600)
    try:
        assert limiter.hit("k", 2, 600) is None
        redis.stop()
        assert limiter.hit("k", 2, 600) is None  # local count 1
        assert limiter.degraded
        redis = start_redis(tmp_path / "redis", port=port)  # empty: no persistence
        limiter._down_until = 0.0  # the retry interval has passed
        assert limiter.hit("k", 2, 600) is None
        assert not limiter.degraded
        assert limiter.hit("k", 2, 600) is None
        assert limiter.hit("k", 2, 600) is not None  # shared again: Redis counted 3
        assert redis.running
    finally:
        redis.stop()


def workers_of(parent: int) -> list[int]:
    """The worker processes uvicorn spawned under `parent` (not multiprocessing's helpers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return found


def test_edge_workers_run_processes_on_one_port_sharing_the_redis_limit(app_url, redis, processes):
    """EDGE_WORKERS=2: two worker processes on one port, one budget shared through Redis."""
    env = {"REDIS_URL": redis.url, "EDGE_RATE_LIMIT_IP": "8/600", "EDGE_WORKERS": "2"}
    url = processes.edge(app_url, **env)
    parent = processes.procs[-1].pid
    deadline = time.monotonic() + 60
    while len(workers_of(parent)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers_of(parent)) == 2, workers_of(parent)
    within_one_window(600)
    codes = []
    for _ in range(12):  # a new connection each: the kernel spreads them over the workers
        codes.append(httpx.get(url + LIMITED, timeout=10).status_code)
    assert codes == [200] * 8 + [429] * 4, codes


def test_edge_workers_must_be_a_positive_whole_number(app_url, processes):
    for bad in ("0", "two", "-1"):
        proc = processes.start("edge", DATABASE_URL=app_url, EDGE_WORKERS=bad, KEEP_STDERR="1")
        assert proc.wait(timeout=60) == 2, bad
        assert b"EDGE_WORKERS must be a whole number" in proc.stderr.read()
