"""The edge's own settings, read from the environment on top of `flagship.config.Settings`.

Every default is the embedded one (no email provider, no Redis, no Sentry, no CORS origin).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from flagship import config


def _limit(name: str, default: str) -> tuple[int, float]:
    """`N/SECONDS` (e.g. `600/60`) from the environment: N requests per window."""
    raw = os.environ.get(name, default)
    count, _, window = raw.partition("/")
    return int(count), float(window or 60)


def _list(name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in os.environ.get(name, "").split(",") if v.strip())


@dataclass(frozen=True)
class EdgeSettings:
    jwt_secret: str
    jwt_issuer: str
    jwt_audience: str = "authenticated"
    jwks_url: str | None = None
    jwks_cache_seconds: int = 300
    api_token_ttl: int = 900  # seconds an exchanged API key token lives
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1024 * 1024
    rate_ip: tuple[int, float] = (600, 60.0)
    rate_user: tuple[int, float] = (300, 60.0)
    rate_api_key: tuple[int, float] = (600, 60.0)
    redis_url: str | None = None
    sentry_dsn: str | None = None
    resend_api_key: str | None = None
    resend_api_url: str = "https://api.resend.com"
    resend_webhook_secret: str | None = None
    send_email_hook_secret: str | None = None
    email_from: str = "Flagship <no-reply@flagship.local>"
    public_url: str = "http://127.0.0.1:54321"  # where /functions/v1 is reachable (links)
    supabase_url: str = "http://127.0.0.1:54321"  # Supabase Auth's verify links
    site_url: str = "http://127.0.0.1:3000"
    webhook_tolerance: int = 300  # seconds a webhook signature's timestamp may be off
    batch_max: int = 20
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, base: config.Settings | None = None) -> EdgeSettings:
        base = base or config.Settings.from_env()
        env = os.environ.get
        return cls(
            jwt_secret=base.jwt_secret,
            jwt_issuer=base.jwt_issuer,
            jwt_audience=env("JWT_AUDIENCE", "authenticated"),
            jwks_url=env("JWT_JWKS_URL") or None,
            api_token_ttl=int(env("EDGE_API_TOKEN_TTL", "900")),
            cors_origins=_list("EDGE_CORS_ORIGINS"),
            max_body_bytes=int(env("EDGE_MAX_BODY_BYTES", str(1024 * 1024))),
            rate_ip=_limit("EDGE_RATE_LIMIT_IP", "600/60"),
            rate_user=_limit("EDGE_RATE_LIMIT_USER", "300/60"),
            rate_api_key=_limit("EDGE_RATE_LIMIT_API_KEY", "600/60"),
            redis_url=env("REDIS_URL") or None,
            sentry_dsn=env("SENTRY_DSN") or None,
            resend_api_key=env("RESEND_API_KEY") or None,
            resend_api_url=env("RESEND_API_URL", "https://api.resend.com"),
            resend_webhook_secret=env("RESEND_WEBHOOK_SECRET") or None,
            send_email_hook_secret=env("SEND_EMAIL_HOOK_SECRET")
            or (config.LOCAL_SEND_EMAIL_HOOK_SECRET if base.database_url is None else None),
            email_from=env("EMAIL_FROM", "Flagship <no-reply@flagship.local>"),
            public_url=env("EDGE_PUBLIC_URL", "http://127.0.0.1:54321").rstrip("/"),
            supabase_url=env("SUPABASE_URL", "http://127.0.0.1:54321").rstrip("/"),
            site_url=env("SITE_URL", "http://127.0.0.1:3000").rstrip("/"),
            batch_max=int(env("EDGE_BATCH_MAX", "20")),
        )


def get_edge_settings(request) -> EdgeSettings:  # FastAPI dependency
    return request.app.state.edge
