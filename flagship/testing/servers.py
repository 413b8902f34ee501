"""Real servers for the stages and scale tests: Debian's PostgreSQL 15, PgBouncer, Redis.

Each listens on 127.0.0.1 on a free port, keeps its files in a directory of its own and is
stopped by its owner (a context manager). As root, PostgreSQL and PgBouncer refuse to run,
so they run as the embedded server's system user, as `flagship.embedded` does.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flagship.embedded import EmbeddedCluster, _ensure_system_user, _open_prefix

DEBIAN_PG_BIN = Path("/usr/lib/postgresql/15/bin")
# Roles the services and tests log in as; PgBouncer's trust mode still wants them listed.
POOLER_USERS = (
    "postgres",
    "supabase_admin",
    "authenticator",
    "supabase_auth_admin",
    "supabase_storage_admin",
)


class ServerError(RuntimeError):
    """A test server did not start."""


STARTUP_TIMEOUT = 30.0  # seconds a test server may take to listen


def free_port() -> int:
    """A port nothing listens on right now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_asgi(app, *, port: int | None = None, name: str = "asgi-test", **config) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a loopback port (free unless given);
    yields its base URL and stops it afterwards. `config` goes to uvicorn.Config."""
    import threading

    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            **{"log_level": "warning", "lifespan": "on", **config},
        )
    )
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{name}: the server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"the server exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Return once GET `url` answers 2xx (a service's readiness); raise ServerError when
    `proc` exits first or nothing answers within `timeout` seconds."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"the process exited with status {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).is_success:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"{url} did not answer within {timeout:.0f}s")
        time.sleep(0.1)


def debian_pg_bin() -> Path | None:
    """Debian's PostgreSQL 15 binaries (postgresql-15), or None when not installed."""
    return DEBIAN_PG_BIN if (DEBIAN_PG_BIN / "postgres").exists() else None


def pg15_cluster(
    base_dir: Path, *, port: int | None = None, durable: bool = False, extra: tuple[str, ...] = ()
) -> EmbeddedCluster:
    """A PostgreSQL 15 cluster in `base_dir` with `postgres` as its superuser, on loopback."""
    bin_dir = debian_pg_bin()
    if bin_dir is None:
        raise ServerError("PostgreSQL 15 is not installed (apt-get install postgresql-15)")
    return EmbeddedCluster(
        base_dir,
        port=port or free_port(),
        durable=durable,
        bin_dir=bin_dir,
        superuser="postgres",
        tcp=True,
        extra_settings=extra,
    )


def _demote() -> dict:
    """subprocess kwargs that run a server as the unprivileged system user when we are root."""
    if os.geteuid() != 0:
        return {}
    uid, gid = _ensure_system_user()
    return {"user": uid, "group": gid, "extra_groups": []}


def _own(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        uid, gid = _ensure_system_user()
        _open_prefix(path)
        os.chown(path, uid, gid)


@dataclass
class Process:
    """A server process we started (stopped by its pid, never by name)."""

    proc: subprocess.Popen
    port: int
    base_dir: Path

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.proc.poll() is None


@dataclass
class PgBouncer(Process):
    """PgBouncer in transaction mode in front of one server (every database, `*`)."""

    backend_host: str = ""
    backend_port: int = 0

    def url(self, user: str, dbname: str) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"


def start_pgbouncer(
    base_dir: Path,
    backend_host: str,
    backend_port: int,
    *,
    pool_size: int = 20,
    users: tuple[str, ...] = POOLER_USERS,
) -> PgBouncer:
    """Start Debian's pgbouncer (transaction pooling) on a free loopback port."""
    exe = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(exe).exists():
        raise ServerError("pgbouncer is not installed (apt-get install pgbouncer)")
    _own(base_dir)
    port = free_port()
    (base_dir / "users.txt").write_text("".join(f'"{u}" ""\n' for u in users))
    (base_dir / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={backend_host} port={backend_port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {base_dir / 'users.txt'}",
                "pool_mode = transaction",
                f"default_pool_size = {pool_size}",
                "max_client_conn = 1000",
                "server_reset_query =",
                "ignore_startup_parameters = extra_float_digits",
                f"logfile = {base_dir / 'pgbouncer.log'}",
                "",
            ]
        )
    )
    proc = subprocess.Popen(
        [exe, "-q", str(base_dir / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **_demote(),
    )
    wait_port(port, proc=proc)
    return PgBouncer(proc, port, base_dir, backend_host, backend_port)


@dataclass
class Redis(Process):
    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis(base_dir: Path, port: int | None = None) -> Redis:
    """Start Debian's redis-server on a free (or the given) loopback port, no persistence."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(exe).exists():
        raise ServerError("redis-server is not installed (apt-get install redis-server)")
    base_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    proc = subprocess.Popen(
        [
            exe,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(base_dir),
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, proc=proc)
    return Redis(proc, port, base_dir)


@contextmanager
def redis_server(base_dir: Path) -> Iterator[Redis]:
    server = start_redis(base_dir)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Replica:
    """A streaming replica of a PostgreSQL 15 primary, made with pg_basebackup."""

    primary: EmbeddedCluster
    cluster: EmbeddedCluster
    log: list[str] = field(default_factory=list)


def start_replica(primary: EmbeddedCluster, base_dir: Path) -> Replica:
    """pg_basebackup the running `primary` (loopback, replication slot-less, -R) and start it."""
    standby = pg15_cluster(base_dir, durable=False)
    _own(base_dir)
    _own(standby.run_dir)
    result = subprocess.run(
        [
            standby.binary("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            primary.superuser,
            "-D",
            str(standby.pgdata),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        **_demote(),
    )
    if result.returncode != 0:
        raise ServerError(f"pg_basebackup failed: {result.stderr.strip()[-300:]}")
    # The copy carries the primary's port and socket directory; the standby has its own.
    with (standby.pgdata / "postgresql.conf").open("a") as fh:
        fh.write(
            f"\nport = {standby.port}\nunix_socket_directories = '{standby.run_dir}'\n"
            "hot_standby = on\n"
        )
    standby.start()
    return Replica(primary, standby)
