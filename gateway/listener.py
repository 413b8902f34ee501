"""LISTEN pgrst: reload the schema cache on `NOTIFY pgrst, 'reload schema'`, as PostgREST.

A dedicated autocommit connection in a daemon thread; it reconnects with a short backoff
when the database goes away, and reloads once after reconnecting (a NOTIFY may have been
missed meanwhile).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg

from edge.observability import logger

CHANNEL = "pgrst"
PAYLOADS = {"", "reload schema", "reload config"}
log = logger("gateway.listener")


class SchemaListener:
    def __init__(self, url: str, on_reload: Callable[[], object]) -> None:
        self.url = url
        self.on_reload = on_reload
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="pgrst-listener", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        first = True
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(f"listen {CHANNEL}")
                    if not first:
                        self._reload("reconnected")
                    first = False
                    self.ready.set()
                    while not self.stop_event.is_set():
                        for note in conn.notifies(timeout=0.5, stop_after=1):
                            if note.payload in PAYLOADS:
                                self._reload(note.payload or "notify")
            except psycopg.Error as exc:
                log.warning("schema listener reconnecting", error=type(exc).__name__)
                self.stop_event.wait(1.0)

    def _reload(self, why: str) -> None:
        try:
            self.on_reload()
            log.info("schema cache reloaded", reason=why)
        except Exception as exc:  # keep listening; the old cache stays in use
            log.error("schema cache reload failed", error=str(exc))
