"""Edge benchmark: the HTTP service under concurrent load, over loopback only.

Starts `python -m edge` as a subprocess on a free 127.0.0.1 port against a fresh migrated
database, then drives it for a bounded time: `GET /functions/v1/health` (no database) and
`GET /functions/v1/me` (a user JWT verified, then `api.accounts_get_my_account()` run as that
user in one transaction) at 8 and 50 connections, and at 50 over two processes. Reports
p50/p95 per line, overall requests/second, and the CPU each `/me` answer cost the edge and
its database backends (`CpuMeter`), with what 50 connections at a p95 of 20 ms would need.

The load comes from `wrk` (Debian's package: C, one thread, epoll) when it is installed, so
that on a small machine the client takes little of the CPU the server needs; without it, from
httpx threads in this process (then the client competes with the server and the numbers
say so in their note).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx

from flagship import config, tokens
from flagship.bench.runner import Bench, Result, start_service, stop_process
from flagship.database import connect
from flagship.testing.harness import create_user
from flagship.testing.servers import free_port

THREADS = 8
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


# wrk's report, as one parseable line: its latency percentiles are in microseconds.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %.3f %.3f %.3f\\n", summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""


class WrkResult(Result):
    """Percentiles as wrk measured them (it keeps a histogram, not the samples)."""

    def __init__(self, name: str, p50: float, p95: float, requests: int, note: str):
        super().__init__(name, note=note)
        self.p50, self.p95, self.requests = p50, p95, requests

    @property
    def calls(self) -> int:
        return self.requests

    def percentile(self, p: float) -> float:
        return self.p50 if p == 50 else self.p95 if p == 95 else float("nan")


class CpuMeter:
    """CPU seconds of the edge (its process and its worker processes) and of the database
    backends serving it (application_name flagship-edge), read from /proc around a run."""

    def __init__(self, admin_url: str, edge_pid: int) -> None:
        self.admin_url, self.edge_pid = admin_url, edge_pid
        self.edge_s = self.db_s = 0.0

    @staticmethod
    def _cpu(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _edge_pids(self) -> list[int]:
        pids = [self.edge_pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.edge_pid:
                    pids.append(int(stat.parent.name))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
        return pids

    def _sample(self) -> tuple[float, float]:
        with connect(self.admin_url, autocommit=True) as conn:
            backends = [
                r["pid"]
                for r in conn.execute(
                    "select pid from pg_stat_activity where application_name = 'flagship-edge'"
                )
            ]
        return (
            sum(self._cpu(p) for p in self._edge_pids()),
            sum(self._cpu(p) for p in backends),
        )

    @contextmanager
    def measure(self) -> Iterator[None]:
        """The backends are the pool's, opened by the warm-up; they outlive the run."""
        edge0, db0 = self._sample()
        yield
        edge1, db1 = self._sample()
        self.edge_s, self.db_s = edge1 - edge0, db1 - db0


def _wrk(
    bench: Bench,
    name: str,
    url: str,
    headers: dict,
    seconds: float,
    conns: int,
    meter: CpuMeter | None = None,
) -> int:
    """wrk with `conns` keep-alive connections for `seconds` (after a 1 s warm-up); with a
    meter, the note adds the CPU the edge and the database spent per answer."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "report.lua"
        script.write_text(WRK_REPORT)
        args = ["wrk", "-t1", f"-c{conns}", "-s", str(script)]
        for key, value in headers.items():
            args += ["-H", f"{key}: {value}"]
        subprocess.run([*args, "-d1s", url], capture_output=True, check=True, timeout=60)
        with meter.measure() if meter else nullcontext():
            out = subprocess.run(
                [*args, f"-d{seconds:.0f}s", url],
                capture_output=True,
                check=True,
                text=True,
                timeout=seconds + 60,
            ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    requests, failed, bad_status, duration, p50, p95 = line.split()[1:]
    if int(failed) or int(bad_status):
        raise RuntimeError(f"{name}: {failed} failed requests, {bad_status} non-2xx answers")
    rate = int(requests) / float(duration)
    note = f"wrk, {conns} connections, {int(requests)} requests, {rate:.0f} req/s"
    if meter:
        answers = max(1, int(requests))
        note += (
            f", CPU per answer: edge {meter.edge_s / answers * 1000:.2f} ms,"
            f" database {meter.db_s / answers * 1000:.2f} ms"
        )
    bench.results.append(WrkResult(name, float(p50), float(p95), int(requests), note))
    return int(requests)


@contextmanager
def _edge(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`python -m edge` on a free loopback port with `env`; yields its /functions/v1 URL
    and its process id."""
    port = free_port()
    base = f"http://127.0.0.1:{port}{PREFIX}"
    process = start_service("edge", {**env, "EDGE_PORT": str(port)}, f"{base}/ready")
    try:
        yield base, process.pid
    finally:
        stop_process(process)


def run(bench: Bench, scale: float) -> None:
    total = max(400, int(4000 * scale))
    admin_url, app_url = bench.database()
    with connect(admin_url) as conn:
        user = create_user(conn, username="bench_edge")
        conn.commit()
    token = tokens.sign(user.claims, config.Settings.from_env().jwt_secret)
    env = {
        **os.environ,
        "DATABASE_URL": app_url,
        "EDGE_HOST": "127.0.0.1",
        "EDGE_LOG_LEVEL": "warning",
        "EDGE_RATE_LIMIT_IP": "100000000/60",
        "EDGE_RATE_LIMIT_USER": "100000000/60",
    }
    auth = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    meter = None
    with _edge(env) as (base, pid):
        me = f"{base}/me"
        if shutil.which("wrk"):
            seconds = max(3.0, 10 * scale)
            meter = CpuMeter(admin_url, pid)
            _wrk(bench, "GET /health", f"{base}/health", {}, seconds, THREADS)
            _wrk(bench, "GET /me (JWT + DB as user)", me, auth, seconds, THREADS, meter)
            _wrk(bench, "GET /me, 50 concurrent", me, auth, seconds, 50, meter)
        else:
            _drive(bench, "GET /health", f"{base}/health", {}, total)
            _drive(bench, "GET /me (JWT + DB as user)", me, auth, total)
            _drive(bench, "GET /me, 50 concurrent", me, auth, total, threads_n=50)
    if shutil.which("wrk"):
        # The same 50 connections spread by the kernel over EDGE_WORKERS=2 processes.
        with _edge({**env, "EDGE_WORKERS": "2"}) as (base, pid):
            _wrk(bench, "GET /me, 50 concurrent, 2 processes", f"{base}/me", auth, seconds, 50)
    wall = time.perf_counter() - started
    count = sum(
        r.requests if isinstance(r, WrkResult) else len(r.samples_ms) for r in bench.results
    )
    bench.rps = count / wall
    bench.add_line(f"edge: {count} requests over loopback in {wall:.1f}s")
    if meter:
        # Closed loop: each connection waits for its answer, so a p95 of 20 ms at 50
        # connections needs 2,500 answers a second; at the CPU measured per answer, that is:
        per_answer = meter.edge_s + meter.db_s
        answers = next(r.requests for r in bench.results if r.name == "GET /me, 50 concurrent")
        need = 2500 * per_answer / max(1, answers)
        bench.add_line(
            f"edge: 50 connections at p95 <= 20 ms need >= 2,500 answers/s ="
            f" {need:.1f} CPU-seconds a second at this cost (edge + database;"
            f" this machine has {os.cpu_count()} cores, shared with wrk)"
        )
