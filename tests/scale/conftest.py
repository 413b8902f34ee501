"""Scale-out fixtures: real processes (edge, gateway, worker) on one database, a real Redis.

Every process is started here on a free loopback port and stopped by its pid at the end of
the test; `kill(proc)` sends SIGKILL to one on purpose.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from flagship import config, migrate
from flagship.database import connect
from flagship.testing.servers import Redis, free_port, pg15_cluster, start_redis, wait_http

CONFORMANCE = config.ROOT / "tests" / "rest" / "conformance.sql"


@pytest.fixture
def app_url(fresh_db, test_server) -> str:
    """The fresh clone as the application role (what the services log in as)."""
    return test_server.app(urlsplit(fresh_db).path.lstrip("/"))


@pytest.fixture
def redis(tmp_path) -> Iterator[Redis]:
    server = start_redis(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


class Processes:
    """The service processes of one test; all stopped (by pid) when it ends."""

    def __init__(self, base_env: dict[str, str]) -> None:
        self.base_env = base_env
        self.procs: list[subprocess.Popen] = []

    def start(self, module: str, **env: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", module],
            env={**self.base_env, **env},
            cwd=config.ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE if env.get("KEEP_STDERR") else subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def edge(self, database_url: str, *, module: str = "edge", **env: str) -> str:
        """Start an edge (or gateway) process; its base URL once /health answers."""
        port = free_port()
        proc = self.start(
            module, DATABASE_URL=database_url, EDGE_HOST="127.0.0.1", EDGE_PORT=str(port), **env
        )
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/functions/v1/health", 30, proc)
        return url

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture
def processes() -> Iterator[Processes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "REDIS_URL", "EDGE_", "SYNC_"))
    }
    procs = Processes(env)
    try:
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture(scope="module")
def pg15():
    """A durable PostgreSQL 15 (fsync on: a crash must keep every commit), migrated. Its
    files live in the state directory: the server's system user must reach them, which
    pytest's private temporary directories do not allow."""
    cluster = pg15_cluster(config.STATE_DIR / f"scale-pg15-{os.getpid()}", durable=True)
    cluster.start()
    try:
        with connect(cluster.url(), autocommit=True) as conn:
            conn.execute("create database flagship")
        url = cluster.url(dbname="flagship")
        migrate.apply_platform(url)
        migrate.migrate(url)
        with connect(url, autocommit=True) as conn:
            conn.execute(CONFORMANCE.read_text())
        yield cluster, url
    finally:
        cluster.destroy()
