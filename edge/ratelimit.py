"""Fixed-window rate limits per IP, per user and per API key.

In memory by default (per process); with REDIS_URL the counters live in Redis and are shared
by every edge process (INCR + EXPIRE on one key per window). A refused hit answers 429
`rate_limited` with `Retry-After` and `details.retry_after`.
"""

from __future__ import annotations

import math
import threading
import time

from edge.errors import ApiError


class MemoryLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._last_prune = time.monotonic()

    def hit(self, key: str, limit: int, window: float) -> float | None:
        """Count a hit; None when allowed, else the seconds until the window resets."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_prune > 60:
                self._prune(now)
            start, count = self._windows.get(key, (now, 0))
            if now - start >= window:
                start, count = now, 0
            count += 1
            self._windows[key] = (start, count)
        if count > limit:
            return max(0.0, start + window - now)
        return None

    def _prune(self, now: float, horizon: float = 3600) -> None:
        self._last_prune = now
        for key in [k for k, (s, _) in self._windows.items() if now - s > horizon]:
            del self._windows[key]


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=1.0)

    def hit(self, key: str, limit: int, window: float) -> float | None:
        now = time.time()
        slot = int(now // window)
        name = f"flagship:rl:{key}:{slot}"
        pipe = self.client.pipeline()
        pipe.incr(name)
        pipe.expire(name, math.ceil(window) + 1)
        count = pipe.execute()[0]
        if count > limit:
            return max(0.0, (slot + 1) * window - now)
        return None


def make_limiter(redis_url: str | None) -> MemoryLimiter | RedisLimiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()


def enforce(limiter, key: str, rule: tuple[int, float]) -> None:
    """Raise 429 rate_limited when `key` exceeded `rule` = (count, window seconds)."""
    limit, window = rule
    wait = limiter.hit(key, limit, window)
    if wait is not None:
        retry = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            "Too many requests; try again later.",
            {"retry_after": retry, "limit": limit, "window_seconds": window},
            {"Retry-After": str(retry)},
        )


# Paths authenticated by a signature instead of a caller: the per-IP middleware skips them
# and each route counts its deliveries with `limit_signed` once the signature is checked.
SIGNED_WEBHOOK_SUFFIXES = ("/stripe-webhook", "/resend-webhook", "/auth-email-hook")


def limit_signed(limiter, settings, source: str, ip: str | None, verified: bool) -> None:
    """Rate-limit a signed webhook delivery: per verified source (`settings.rate_webhook`),
    or per IP when its signature failed (`settings.rate_webhook_refused`)."""
    if verified:
        enforce(limiter, f"webhook:{source}", settings.rate_webhook)
    else:
        enforce(limiter, f"webhook-refused:{ip or 'unknown'}", settings.rate_webhook_refused)
