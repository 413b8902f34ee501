"""The worker's settings, read once from the environment by `python -m sync`.

`DATABASE_URL` is required: `flagship up` passes the embedded server's, production its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from files.store import StorageSettings
from flagship import config
from mail.settings import MailConfig, MailSettings


@dataclass(frozen=True)
class WorkerSettings:
    database_url: str
    mail: MailConfig  # MailSettings; the edge's EdgeSettings also qualifies
    batch_size: int = 10  # jobs per claim
    poll_interval: float = 5.0  # seconds between polls when no notification arrives
    log_level: str = "info"
    storage: StorageSettings | None = None  # None: read from the environment when needed
    cdn_purge_url: str = ""  # files.cdn_purge: where to POST (empty: no CDN to purge)
    cdn_purge_token: str = ""
    storage_public_url: str = "http://127.0.0.1:54321"  # the project URL the CDN serves

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
            storage=StorageSettings.from_env(env),
            cdn_purge_url=env.get("CDN_PURGE_URL", ""),
            cdn_purge_token=env.get("CDN_PURGE_TOKEN", ""),
            storage_public_url=env.get("STORAGE_PUBLIC_URL")
            or env.get("SUPABASE_URL", "http://127.0.0.1:54321"),
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
