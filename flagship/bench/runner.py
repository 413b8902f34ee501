"""Shared machinery for benchmarks: a throw-away migrated database and timing statistics.

Timings are client round trips over the server's Unix socket (or DATABASE_URL), so they
include a little driver overhead on top of the time spent in the database.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from flagship import config, migrate
from flagship.database import connect
from flagship.embedded import SUPERUSER, EmbeddedCluster
from flagship.testing.harness import with_database
from flagship.testing.servers import ServerError, wait_http

BENCH_DB_PORT = 54331


@dataclass
class Result:
    name: str
    samples_ms: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def calls(self) -> int:
        return len(self.samples_ms)

    def percentile(self, p: float) -> float:
        data = sorted(self.samples_ms)
        if not data:
            return float("nan")
        k = max(0, min(len(data) - 1, round(p / 100 * (len(data) - 1))))
        return data[k]


class Bench:
    """One benchmark run: where its database lives and what it measured."""

    def __init__(self, domain: str, keep: bool = False, reuse: str | None = None):
        self.domain = domain
        self.keep = keep
        # A database kept by an earlier run (--keep) whose generated data is measured again:
        # generating 1M posts or 100k vectors takes longer than measuring them.
        self.reused = reuse is not None
        self.results: list[Result] = []
        self.extra_lines: list[str] = []
        self.rps: float | None = None  # throughput, for benchmarks that measure it
        import os

        url = os.environ.get("DATABASE_URL")
        if url:
            self.cluster = None
            self.admin_url = url
            self.app_user = None
        else:
            self.cluster = EmbeddedCluster(
                config.STATE_DIR / "bench-db", port=BENCH_DB_PORT, durable=False
            )
            self.cluster.start()
            self.admin_url = self.cluster.url(user=SUPERUSER)
            self.app_user = "postgres"
        self.dbname = reuse or f"bench_{domain}_{uuid.uuid4().hex[:6]}"

    # -- database ------------------------------------------------------------------------
    def database(self) -> tuple[str, str]:
        """Create (unless reused) and migrate this run's database; returns (admin_url,
        app_url). A reused database gets the migrations added since it was generated."""
        with connect(self.admin_url, autocommit=True) as conn:
            if not self.reused:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(self.dbname)))
            elif not conn.execute(
                "select 1 from pg_database where datname = %s", (self.dbname,)
            ).fetchone():
                raise LookupError(f"no database {self.dbname!r} to reuse (kept with --keep)")
        admin = with_database(self.admin_url, self.dbname)
        app = with_database(self.admin_url, self.dbname, self.app_user)
        migrate.apply_platform(admin)
        migrate.migrate(app)
        return admin, app

    def drop(self) -> None:
        if self.keep or self.reused:
            return
        with connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(self.dbname)
                )
            )

    # -- timing --------------------------------------------------------------------------
    def measure(
        self, name: str, fn: Callable[[int], object], calls: int, warmup: int = 5, note: str = ""
    ) -> Result:
        """Call fn(i) `calls` times (after `warmup` untimed calls) and keep each duration."""
        for i in range(warmup):
            fn(i)
        result = Result(name, note=note)
        for i in range(calls):
            start = time.perf_counter()
            fn(warmup + i)
            result.samples_ms.append((time.perf_counter() - start) * 1000)
        self.results.append(result)
        return result

    def add_line(self, line: str) -> None:
        """An extra report line (throughput, data sizes), printed before the summary."""
        self.extra_lines.append(line)

    def report(self) -> str:
        width = max([len(r.name) for r in self.results] + [9])
        lines = [f"{'operation':<{width}}  {'p50_ms':>8}  {'p95_ms':>8}  {'calls':>6}  note"]
        for r in self.results:
            lines.append(
                f"{r.name:<{width}}  {r.percentile(50):>8.3f}  {r.percentile(95):>8.3f}"
                f"  {r.calls:>6}  {r.note}"
            )
        lines += self.extra_lines
        if self.keep or self.reused:
            lines.append(f"database kept: {self.dbname} (measure it again with --reuse)")
        worst = max((r.percentile(95) for r in self.results), default=float("nan"))
        rps = f" rps={self.rps:.0f}" if self.rps is not None else ""
        lines.append(f"worst_p95_ms={worst:.3f}{rps}")
        return "\n".join(lines)


def explain_uses_index(conn: psycopg.Connection, query: str, params=None) -> str:
    """The plan of a query as text (for benchmarks that also print how hot paths run)."""
    rows = conn.execute("explain " + query, params).fetchall()
    return "\n".join(next(iter(r.values())) for r in rows)


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def start_service(module: str, env: dict[str, str], ready_url: str, timeout: float = 30.0):
    """Start `python -m <module>` with `env` and return it once `ready_url` answers 2xx;
    raises (with the end of its stderr) when it exits first or is not ready in time."""
    process = subprocess.Popen(
        [sys.executable, "-m", module], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_http(ready_url, timeout, process)
    except ServerError as exc:
        stop_process(process)
        tail = process.stderr.read().decode(errors="replace")[-500:]
        raise RuntimeError(f"{module} did not start ({exc}): {tail}") from None
    return process


def stop_process(process: subprocess.Popen) -> None:
    """Stop a service a benchmark started: SIGTERM, then SIGKILL after 15 s."""
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
