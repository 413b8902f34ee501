"""Fixed-window rate limits per IP, per user and per API key.

In memory by default (per process); with REDIS_URL the counters live in Redis and are shared
by every edge and gateway process (INCR + EXPIRE on one key per window). A refused hit
answers 429 `rate_limited` with `Retry-After` and `details.retry_after`.

When Redis does not answer (down, unreachable, slower than REDIS_TIMEOUT), limits fall back
to this process's memory — still enforced, per process instead of shared — and say so: one
warning log line per outage ("rate limits fall back to process memory"), the gauge
`flagship_ratelimit_degraded` = 1 and the counter `flagship_ratelimit_fallback_total` on
/metrics. Redis is tried again every RETRY_SECONDS; its first answer ends the outage.
"""

from __future__ import annotations

import math
import threading
import time

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from edge.errors import ApiError
from flagship.logs import logger

log = logger("edge.ratelimit")
REDIS_TIMEOUT = 0.25  # seconds: a limit check must never hold a request for long
RETRY_SECONDS = 5.0  # while Redis is down, how often one request tries it again


class MemoryLimiter:
    backend = "memory"
    degraded = False
    fallbacks = 0

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
    backend = "redis"

    def __init__(self, url: str, *, timeout: float = REDIS_TIMEOUT) -> None:
        import redis

        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self.errors = redis.RedisError
        self.local = MemoryLimiter()
        self.fallbacks = 0  # hits answered by the local limiter
        self._down_until: float | None = None  # monotonic time of the next Redis attempt
        self._lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        return self._down_until is not None

    def hit(self, key: str, limit: int, window: float) -> float | None:
        down_until = self._down_until
        if down_until is None or time.monotonic() >= down_until:
            try:
                wait = self._shared_hit(key, limit, window)
            except self.errors as exc:
                self._went_down(exc)
            else:
                if self._down_until is not None:
                    self._down_until = None
                    log.warning("rate limits shared through Redis again")
                return wait
        with self._lock:
            self.fallbacks += 1
        return self.local.hit(key, limit, window)

    def _went_down(self, exc: Exception) -> None:
        with self._lock:
            first = self._down_until is None
            self._down_until = time.monotonic() + RETRY_SECONDS
        if first:
            log.warning(
                "rate limits fall back to process memory: Redis does not answer",
                error=type(exc).__name__,
                retry_every_seconds=RETRY_SECONDS,
            )

    def _shared_hit(self, key: str, limit: int, window: float) -> float | None:
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


class LimiterCollector:
    """The limiter's state on /metrics: which backend, whether it is degraded, fallbacks."""

    def __init__(self, limiter: MemoryLimiter | RedisLimiter) -> None:
        self.limiter = limiter

    def collect(self):
        backend = GaugeMetricFamily(
            "flagship_ratelimit_backend", "1 for the configured backend.", labels=["backend"]
        )
        backend.add_metric([self.limiter.backend], 1)
        yield backend
        yield GaugeMetricFamily(
            "flagship_ratelimit_degraded",
            "1 while Redis does not answer and limits are kept in this process's memory.",
            value=1 if self.limiter.degraded else 0,
        )
        fallbacks = CounterMetricFamily(
            "flagship_ratelimit_fallback",
            "Limit checks answered by the local fallback because Redis did not answer.",
        )
        fallbacks.add_metric([], self.limiter.fallbacks)
        yield fallbacks


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
