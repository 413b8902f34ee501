"""`flagship up`: the database, the API gateway and the sync worker, for local development.

The database is started (or reused) and left running on exit, so its data survives; the
gateway (`python -m gateway`: /rest/v1, /auth/v1, /storage/v1 and the edge's
/functions/v1 on one port) and the worker are child processes in their own process group,
stopped on Ctrl-C or SIGTERM. If one of them dies, the others are stopped and the command
fails. The API port is checked first, so a busy port fails before anything is printed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import httpx
import psycopg

from flagship import config, tokens
from flagship.bootstrap import CliError, bootstrap_database
from flagship.database import connect
from flagship.target import Target

STARTUP_TIMEOUT = 30.0  # seconds for the edge to answer /health
STOP_TIMEOUT = 10.0  # seconds a child gets to finish before it is killed
USER_TOKENS_LIMIT = 20


@dataclass
class Child:
    name: str
    process: subprocess.Popen

    def exited(self) -> int | None:
        return self.process.poll()


def _start(name: str, module: str, env: dict[str, str]) -> Child:
    # Own process group: a terminal's Ctrl-C reaches only us, and we stop children in order.
    process = subprocess.Popen([sys.executable, "-m", module], env=env, process_group=0)
    return Child(name, process)


def stop_children(children: list[Child]) -> None:
    for child in children:
        if child.exited() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{child.name} did not stop in {STOP_TIMEOUT:.0f}s; killing it", flush=True)
            child.process.kill()
            child.process.wait()


def _wait_for_edge(url: str, children: list[Child], stop: threading.Event) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and not stop.is_set():
        _check_alive(children)
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        stop.wait(0.2)
    if not stop.is_set():
        raise CliError(f"the edge did not answer {url}/health within {STARTUP_TIMEOUT:.0f}s")


def _check_alive(children: list[Child]) -> None:
    for child in children:
        code = child.exited()
        if code is not None:
            raise CliError(f"{child.name} exited with status {code}")


def seeded_users(admin_url: str) -> list[tuple[str, str]]:
    """(who, label) of the first users; `who` is what `mint_for_user` looks up."""
    with connect(admin_url, autocommit=True) as conn:
        has_profiles = conn.execute(
            "select to_regclass('accounts.profiles') is not null as e"
        ).fetchone()["e"]
        username = "p.username" if has_profiles else "null::text"
        join = "left join accounts.profiles p on p.id = u.id" if has_profiles else ""
        rows = conn.execute(
            f"select u.id::text as id, u.email, {username} as username from auth.users u {join}"  # nosec B608
            f" order by u.created_at, u.id limit {USER_TOKENS_LIMIT}"
        ).fetchall()
    users = []
    for row in rows:
        who = row["email"] or row["id"]
        users.append((who, f"{who} ({row['username']})" if row["username"] else who))
    return users


def check_port_free(host: str, port: int) -> None:
    """CliError when something already listens on host:port (an older `make up`?)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CliError(
                f"{host}:{port} is already in use ({exc.strerror}); stop what listens there"
                " or set EDGE_PORT"
            ) from exc


def print_summary(
    target: Target, settings: config.Settings, tcp: bool, edge_url: str | None
) -> None:
    lines = [
        "",
        "Flagship is running. Ctrl-C stops the API and sync; the database keeps running.",
        "",
    ]
    if edge_url:
        api = edge_url.removesuffix("/functions/v1")
        lines += [
            f"  API URL       {api}   (createClient(url, anonKey) in supabase-js)",
            f"    rest        {api}/rest/v1/   (PostgREST; OpenAPI at the root)",
            f"    auth        {api}/auth/v1",
            f"    storage     {api}/storage/v1   (not served yet: 501)",
            f"    functions   {edge_url}",
            f"    health      {edge_url}/health",
            f"    playground  {api}/docs   (Swagger UI on /rest/v1, offline)",
            f"    docs        {edge_url}/docs",
        ]
    lines.append(f"  database      {target.url}")
    if tcp and target.cluster is not None:
        lines.append(
            f"  database tcp  postgresql://postgres@127.0.0.1:{target.cluster.port}/postgres"
        )
    print("\n".join(lines), flush=True)
    if settings.jwt_secret != config.LOCAL_JWT_SECRET:
        # A real secret makes real credentials: never print them.
        print("  JWT_SECRET is set: keys and tokens are not printed (see `flagship token`)")
        return
    from gateway.keys import project_keys

    keys = project_keys(settings.jwt_secret)
    print(
        "\n".join(
            [
                f"  JWT secret    {settings.jwt_secret}",
                f"  anon key      {keys.anon}",
                f"  service_role  {keys.service_role}",
            ]
        )
    )
    _print_seeded_users()
    _print_user_tokens(target.admin_url)
    print("", flush=True)


def _print_seeded_users() -> None:
    """The seeded users' sign-in passwords, from the Auth service's seed list (if built)."""
    try:
        from gateway.auth import seed_users_banner
    except ImportError:
        return
    print("  " + seed_users_banner().replace("\n", "\n  "))


def _print_user_tokens(admin_url: str) -> None:
    try:
        users = seeded_users(admin_url)
    except psycopg.Error as exc:
        print(f"  user tokens   unavailable: {str(exc).strip().splitlines()[0]}")
        return
    if not users:
        print("  user tokens   no users yet (seed some, then `flagship token <email>`)")
        return
    print("  user tokens (1 hour; `flagship token <email>` mints more):")
    for who, label in users:
        try:
            _, token = tokens.mint_for_user(admin_url, who)
        except (tokens.TokenError, psycopg.Error) as exc:
            print(f"    {label}: no token ({str(exc).strip().splitlines()[0]})")
            continue
        print(f"    {label}\n      {token}")


def run_stack(tcp: bool, edge: bool, worker: bool) -> None:
    """Run until Ctrl-C or SIGTERM (then return); raise CliError if a child dies."""
    settings = config.Settings.from_env()
    if edge:
        check_port_free(settings.edge_host, settings.edge_port)
    target = bootstrap_database(tcp=tcp)
    env = {**os.environ, "DATABASE_URL": target.url}
    if not settings.database_url:
        # The embedded default: the Auth service and the edge share the local hook secret
        # (the children see DATABASE_URL, so they would not pick the default themselves).
        env.setdefault("SEND_EMAIL_HOOK_SECRET", config.LOCAL_SEND_EMAIL_HOOK_SECRET)
        # Outgoing webhooks may use plain http here (never private addresses: sync.ssrf).
        env.setdefault("WEBHOOK_ALLOW_HTTP", "1")
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children: list[Child] = []
    try:
        edge_url = None
        if edge:
            children.append(_start("gateway", "gateway", env))
            edge_url = f"http://{settings.edge_host}:{settings.edge_port}/functions/v1"
        if worker:
            children.append(_start("sync", "sync", env))
        if edge_url:
            _wait_for_edge(edge_url, children, stop)
        if not stop.is_set():
            print_summary(target, settings, tcp, edge_url)
        while not stop.is_set():
            _check_alive(children)
            stop.wait(0.5)
        hint = " (`flagship db stop` stops it)" if target.embedded else ""
        print(f"stopping the API and sync; the database keeps running{hint}", flush=True)
    finally:
        stop_children(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
