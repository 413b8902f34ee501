"""The extra CI stages `make test` runs after the embedded one (`flagship test-stage NAME`).

- `pg15`: the whole pytest suite against Debian's PostgreSQL 15 (Supabase's oldest
  supported major), started here in a data directory of its own on a free loopback port
  with `postgres` as its only superuser and no Supabase role: the harness reaches it through
  DATABASE_URL exactly as it would reach any other server.
- `pgbouncer`: the HTTP journeys (gateway, edge, the real supabase-js / supabase-py clients)
  with every service connection going through PgBouncer in transaction mode
  (FLAGSHIP_TEST_POOLER=pgbouncer: each pytest process starts one in front of the embedded
  test server; LISTEN goes direct).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from flagship import config
from flagship.testing.servers import ServerError, debian_pg_bin, pg15_cluster

STAGES = ("pg15", "pgbouncer")
DEFAULT_PYTEST = ("-n", "2", "--dist", "loadfile")
POOLER_TESTS = (
    "tests/rest",
    "tests/edge",
    "tests/gateway",
    "tests/test_edge_health.py",
    "tests/scale/test_workers.py",
    "tests/scale/test_shared_limits.py",
)


class StageError(RuntimeError):
    pass


def run_stage(name: str, pytest_args: Sequence[str] = ()) -> int:
    """Run one stage; the exit status of its pytest run."""
    args = list(pytest_args) or list(DEFAULT_PYTEST)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_DIRECT_URL")}
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    if name == "pgbouncer":
        env["FLAGSHIP_TEST_POOLER"] = "pgbouncer"
        return subprocess.call([*pytest, *args, *POOLER_TESTS], env=env, cwd=config.ROOT)
    if name != "pg15":
        raise StageError(f"unknown stage {name!r}: one of {', '.join(STAGES)}")
    if debian_pg_bin() is None:
        raise StageError("PostgreSQL 15 is not installed (scripts/bootstrap.sh installs it)")
    base = config.STATE_DIR / "stage-pg15"
    try:
        cluster = pg15_cluster(base / "server")
        cluster.destroy()  # a stage always starts from an empty server
        cluster.start()
    except ServerError as exc:
        raise StageError(str(exc)) from exc
    try:
        env["DATABASE_URL"] = cluster.url(user="postgres", dbname="postgres")
        env["FLAGSHIP_STATE_DIR"] = str(base)
        print(f"test-stage pg15: PostgreSQL 15 on 127.0.0.1:{cluster.port}", flush=True)
        # The fault and replica tests start PostgreSQL 15 servers of their own already.
        skip = ["--ignore=tests/scale/test_faults.py", "--ignore=tests/scale/test_replica.py"]
        return subprocess.call([*pytest, *skip, *args], env=env, cwd=config.ROOT)
    finally:
        cluster.destroy()
