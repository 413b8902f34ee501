"""Read replicas for /rest/v1: which reads may go to DATABASE_READ_URL.

A GET or HEAD that PostgREST would run READ ONLY (views, tables, stable and immutable
functions) goes to the replica pool; everything else, and every read of a user who wrote
through this gateway less than DATABASE_READ_AFTER_WRITE_SECONDS ago (5 s), goes to the
primary, so a user always reads their own writes. The marks are kept in this process and,
with REDIS_URL, in Redis too, so every gateway process honours them; a Redis failure counts
as "recent write" (the primary is always correct, only slower). A replica that does not
answer is skipped for a few seconds (the primary serves its reads meanwhile).
"""

from __future__ import annotations

import threading
import time

from edge.db import Availability
from edge.observability import logger

log = logger("gateway.replica")
READ_AFTER_WRITE_SECONDS = 5.0
KEY = "flagship:ryw:{}"


class ReadRouting:
    def __init__(self, window: float = READ_AFTER_WRITE_SECONDS, redis_url: str | None = None):
        self.window = window
        self.replica = Availability()
        self._marks: dict[str, float] = {}
        self._lock = threading.Lock()
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.25)
            self._redis_errors = redis.RedisError

    def wrote(self, user: str | None) -> None:
        """`user` just changed something on the primary (called after its commit)."""
        if not user:
            return
        with self._lock:
            if len(self._marks) > 100_000:
                now = time.monotonic()
                self._marks = {k: v for k, v in self._marks.items() if v > now}
            self._marks[user] = time.monotonic() + self.window
        if self._redis is not None:
            try:
                self._redis.set(KEY.format(user), 1, px=int(self.window * 1000))
            except self._redis_errors as exc:
                log.warning("read-your-writes mark not shared", error=type(exc).__name__)

    def recent_writer(self, user: str | None) -> bool:
        if not user:
            return False
        if self._marks.get(user, 0.0) > time.monotonic():
            return True
        if self._redis is None:
            return False
        try:
            return bool(self._redis.exists(KEY.format(user)))
        except self._redis_errors:
            return True  # unknown: the primary is always right

    def use_replica(self, method: str, read_only: bool, user: str | None) -> bool:
        return (
            method in ("GET", "HEAD")
            and read_only
            and not self.replica.down
            and not self.recent_writer(user)
        )
