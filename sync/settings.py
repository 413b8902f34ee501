"""The worker's settings, read once from the environment by `python -m sync`.

`DATABASE_URL` is required: `flagship up` passes the embedded server's, production its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from files.store import StorageSettings
from flagship import config
from mail.settings import MailConfig, MailSettings
from sync.ssrf import Policy


@dataclass(frozen=True)
class WebhookSettings:
    """Outgoing webhooks (sync.webhooks): destinations, timeouts, retries, concurrency.

    WEBHOOK_ALLOW_HTTP=1 admits plain http (`flagship up` sets it on the embedded default);
    WEBHOOK_ALLOW_ADDRESSES lists loopback addresses a test receiver listens on. Both are
    refused with FLAGSHIP_ENV=production. WEBHOOK_RETRY_SCALE multiplies the retry schedule
    (tests shrink it); WEBHOOK_DISABLE_AFTER is how long an endpoint may fail (seconds).
    """

    allow_http: bool = False
    allow_addresses: tuple[str, ...] = ()
    connect_timeout: float = 5.0  # seconds
    read_timeout: float = 15.0  # seconds, also the deadline for the whole response
    max_response_bytes: int = 64 * 1024  # read at most this much of a response
    retry_scale: float = 1.0
    disable_after: float = 5 * 24 * 3600.0  # seconds of failures before an endpoint is disabled
    concurrency: int = 16  # deliveries in flight per worker
    batch_size: int = 64  # deliveries in flight (claimed, not yet recorded) at most
    busy_for: float = 1.0  # seconds a busy queue keeps claiming before the loop moves on
    ca_file: str | None = None  # CA bundle for https (default: certifi's)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebhookSettings:
        allow_http = env.get("WEBHOOK_ALLOW_HTTP", "") in ("1", "true", "yes")
        addresses = tuple(
            a.strip() for a in env.get("WEBHOOK_ALLOW_ADDRESSES", "").split(",") if a.strip()
        )
        if env.get("FLAGSHIP_ENV") == "production" and (allow_http or addresses):
            raise config.ConfigError(
                "WEBHOOK_ALLOW_HTTP and WEBHOOK_ALLOW_ADDRESSES are for local development only"
            )
        settings = cls(
            allow_http=allow_http,
            allow_addresses=addresses,
            connect_timeout=float(env.get("WEBHOOK_CONNECT_TIMEOUT", "5")),
            read_timeout=float(env.get("WEBHOOK_READ_TIMEOUT", "15")),
            max_response_bytes=int(env.get("WEBHOOK_MAX_RESPONSE_BYTES", str(64 * 1024))),
            retry_scale=float(env.get("WEBHOOK_RETRY_SCALE", "1")),
            disable_after=float(env.get("WEBHOOK_DISABLE_AFTER", str(5 * 24 * 3600))),
            concurrency=int(env.get("WEBHOOK_CONCURRENCY", "16")),
            batch_size=int(env.get("WEBHOOK_BATCH_SIZE", "64")),
            busy_for=float(env.get("WEBHOOK_BUSY_FOR", "1")),
            ca_file=env.get("WEBHOOK_CA_FILE") or None,
        )
        settings.policy()  # refuses a non-loopback allowlist entry now, not at delivery
        return settings

    def policy(self) -> Policy:
        """The SSRF policy these settings describe."""
        try:
            return Policy.from_setting(self.allow_http, self.allow_addresses)
        except ValueError as exc:
            raise config.ConfigError(f"WEBHOOK_ALLOW_ADDRESSES: {exc}") from exc


@dataclass(frozen=True)
class WorkerSettings:
    database_url: str
    mail: MailConfig  # MailSettings; the edge's EdgeSettings also qualifies
    batch_size: int = 10  # jobs per claim
    poll_interval: float = 5.0  # seconds between polls when no notification arrives
    log_level: str = "info"
    stale_after: float = 300.0  # seconds before a lost worker's claim is given back
    release_every: float = 60.0  # seconds between stale-claim sweeps
    schedule_every: float = 15.0  # seconds between looks at ops.schedules
    probe_host: str = "127.0.0.1"  # SYNC_PROBE_HOST: where /healthz, /readyz, /metrics listen
    probe_port: int | None = None  # SYNC_PROBE_PORT: unset = no probe server, 0 = any free port
    sentry_dsn: str | None = None  # SENTRY_DSN: failed deliveries and database errors
    storage: StorageSettings | None = None  # None: read from the environment when needed
    cdn_purge_url: str = ""  # files.cdn_purge: where to POST (empty: no CDN to purge)
    cdn_purge_token: str = ""
    storage_public_url: str = "http://127.0.0.1:54321"  # the project URL the CDN serves
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerSettings:
        env = os.environ if env is None else env
        url = env.get("DATABASE_URL")
        if not url:
            raise config.ConfigError("DATABASE_URL is not set (`flagship up` sets it)")
        return cls(
            database_url=url,
            mail=MailSettings.from_env(env, link_secret(env)),
            batch_size=int(env.get("SYNC_BATCH_SIZE", "10")),
            poll_interval=float(env.get("SYNC_POLL_INTERVAL", "5")),
            log_level=env.get("SYNC_LOG_LEVEL", "info").lower(),
            stale_after=float(env.get("SYNC_STALE_AFTER", "300")),
            release_every=float(env.get("SYNC_RELEASE_EVERY", "60")),
            schedule_every=float(env.get("SYNC_SCHEDULE_EVERY", "15")),
            probe_host=env.get("SYNC_PROBE_HOST", "127.0.0.1"),
            probe_port=int(env["SYNC_PROBE_PORT"]) if env.get("SYNC_PROBE_PORT") else None,
            sentry_dsn=env.get("SENTRY_DSN") or None,
            storage=StorageSettings.from_env(env),
            cdn_purge_url=env.get("CDN_PURGE_URL", ""),
            cdn_purge_token=env.get("CDN_PURGE_TOKEN", ""),
            storage_public_url=env.get("STORAGE_PUBLIC_URL")
            or env.get("SUPABASE_URL", "http://127.0.0.1:54321"),
            webhooks=WebhookSettings.from_env(env),
        )


def link_secret(env: Mapping[str, str]) -> str:
    """The secret unsubscribe links are signed with (the edge verifies with the same one).

    EMAIL_LINK_SECRET, else JWT_SECRET; the public development secret only on the embedded
    default, never with FLAGSHIP_ENV=production or JWT_JWKS_URL (as the edge decides).
    """
    secret = env.get("EMAIL_LINK_SECRET") or env.get("JWT_SECRET") or ""
    if env.get("FLAGSHIP_ENV") == "production" or env.get("JWT_JWKS_URL"):
        if not secret or secret == config.LOCAL_JWT_SECRET:
            raise config.ConfigError(
                "production configurations need EMAIL_LINK_SECRET or JWT_SECRET (a real one)"
            )
        return secret
    return secret or config.LOCAL_JWT_SECRET
