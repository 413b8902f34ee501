"""`flagship up` end to end, against a database of its own (DATABASE_URL)."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from flagship.database import connect
from flagship.testing.harness import with_database
from flagship.testing.servers import free_port


@pytest.fixture
def app_url(fresh_db, test_server) -> str:
    return with_database(fresh_db, urlsplit(fresh_db).path.lstrip("/"), test_server.app_user)


class Up:
    """`flagship up` as a subprocess, its output collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flagship.cli", "up"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.output):
            try:
                self.output.append(self.lines.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"no {text!r} in:\n{self.text}") from None

    def finish(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout=timeout)
        time.sleep(0.1)
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return code

    @property
    def text(self) -> str:
        return "".join(self.output)


def service_connections(admin) -> int:
    return admin.execute(
        "select count(*) as n from pg_stat_activity where datname = current_database()"
        " and application_name like 'flagship-%'"
    ).fetchone()["n"]


def wait_until_no_service_connections(admin, timeout: float = 5) -> int:
    deadline = time.monotonic() + timeout
    while (n := service_connections(admin)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return n


def test_up_serves_prints_credentials_and_stops_on_ctrl_c(app_url, fresh_db):
    with connect(fresh_db, autocommit=True) as admin:
        admin.execute(
            "insert into auth.users (id, aud, role, email)"
            " values (gen_random_uuid(), 'authenticated', 'authenticated', 'ada@example.test')"
        )
        port = free_port()
        up = Up({"DATABASE_URL": app_url, "EDGE_HOST": "127.0.0.1", "EDGE_PORT": str(port)})
        try:
            up.wait_for("Flagship is running")
            up.wait_for("ada@example.test")
            base = f"http://127.0.0.1:{port}/functions/v1"
            assert httpx.get(f"{base}/health").json() == {"status": "ok"}
            assert httpx.get(f"{base}/ready").status_code == 200
            for expected in (
                f"{base}/docs",
                app_url,
                "JWT secret",
                "anon key",
                "service_role",
                f"API URL       http://127.0.0.1:{port}",
            ):
                assert expected in up.text
            # One URL for every path: /rest/v1 answers with the anon key the banner printed.
            anon = next(line for line in up.output if "anon key" in line).split()[-1]
            rest = httpx.get(f"http://127.0.0.1:{port}/rest/v1/", headers={"apikey": anon})
            assert rest.status_code == 200 and rest.json()["openapi"] == "3.1.0"
            assert httpx.get(f"http://127.0.0.1:{port}/rest/v1/").status_code == 401
            up.process.send_signal(signal.SIGINT)
            assert up.finish() == 0, up.text
        finally:
            if up.process.poll() is None:
                up.process.kill()
        assert "the database keeps running" in up.text
        assert wait_until_no_service_connections(admin) == 0
        assert admin.execute("select 1 as ok").fetchone()["ok"] == 1


def test_up_refuses_a_busy_port_before_printing_anything(app_url, fresh_db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        up = Up({"DATABASE_URL": app_url, "EDGE_HOST": "127.0.0.1", "EDGE_PORT": str(port)})
        try:
            code = up.finish(timeout=60)
        finally:
            if up.process.poll() is None:
                up.process.kill()
    assert code == 1, up.text
    assert f"127.0.0.1:{port} is already in use" in up.text
    assert "anon key" not in up.text and "Flagship is running" not in up.text
    with connect(fresh_db, autocommit=True) as admin:
        assert wait_until_no_service_connections(admin) == 0
