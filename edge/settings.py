"""The edge's settings: read once from the environment when the app is built, then injected.

Every default is the embedded one (no email provider, no Redis, no Sentry, no CORS origin).
With FLAGSHIP_ENV=production, or with JWT_JWKS_URL set (a real Supabase project), the public
development secret is never used: HS256 is accepted only with a real JWT_SECRET, unsubscribe
links need EMAIL_LINK_SECRET or JWT_SECRET, and without them the edge refuses to start.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ai.settings import AISettings
from edge.billing_stripe import BillingSettings
from flagship import config

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _limit(env: Mapping[str, str], name: str, default: str) -> tuple[int, float]:
    """`N/SECONDS` (e.g. `600/60`) from the environment: N requests per window."""
    raw = env.get(name, default)
    count, _, window = raw.partition("/")
    return int(count), float(window or 60)


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in env.get(name, "").split(",") if v.strip())


def networks(values: tuple[str, ...] | list[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) → networks; a bad entry is a configuration error."""
    try:
        return tuple(ipaddress.ip_network(v, strict=False) for v in values)
    except ValueError as exc:
        raise config.ConfigError(f"TRUSTED_PROXIES: {exc}") from exc


@dataclass(frozen=True)
class EdgeSettings:
    jwt_secret: str | None  # None: HS256 tokens are refused (JWKS only)
    jwt_issuer: str
    jwt_audience: str = "authenticated"
    jwks_url: str | None = None
    jwks_cache_seconds: int = 300
    production: bool = False  # never accept the public development secret
    email_link_secret: str | None = None  # unsubscribe links; default: jwt_secret
    api_token_ttl: int = 900  # seconds an exchanged API key token lives
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1024 * 1024
    rate_ip: tuple[int, float] = (600, 60.0)
    rate_user: tuple[int, float] = (300, 60.0)
    rate_api_key: tuple[int, float] = (600, 60.0)
    # signed webhooks (Stripe, Resend, the Auth email hook): per verified source, not per
    # IP (a provider's bursts come from a few addresses); failed signatures per IP
    rate_webhook: tuple[int, float] = (6000, 60.0)
    rate_webhook_refused: tuple[int, float] = (60, 60.0)
    trusted_proxies: tuple[Network, ...] = ()  # hops whose X-Forwarded-For is believed
    metrics_token: str | None = None  # bearer token for /metrics; none: loopback only
    ready_cache_seconds: float = 1.0  # /ready answers from cache this long
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
    billing: BillingSettings = field(default_factory=BillingSettings)
    ai: AISettings = field(default_factory=AISettings)  # OPENAI_*, AI_* (ai/settings.py)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.production and config.LOCAL_JWT_SECRET in (self.jwt_secret, self.email_link_secret):
            raise config.ConfigError(
                "the public development JWT secret is refused outside the embedded default"
            )
        if self.jwt_secret is None and self.jwks_url is None:
            raise config.ConfigError("set JWT_SECRET or JWT_JWKS_URL: no token could verify")
        if self.jwt_secret is None and self.email_link_secret is None:
            raise config.ConfigError(
                "set EMAIL_LINK_SECRET (or JWT_SECRET): unsubscribe links need a secret"
            )

    @property
    def link_secret(self) -> str:
        """The key of unsubscribe links (mail.unsubscribe)."""
        secret = self.email_link_secret or self.jwt_secret
        assert secret is not None  # checked in __post_init__
        return secret

    @classmethod
    def from_env(
        cls, base: config.Settings | None = None, env: Mapping[str, str] | None = None
    ) -> EdgeSettings:
        base = base or config.Settings.from_env()
        env = os.environ if env is None else env
        jwks_url = env.get("JWT_JWKS_URL") or None
        strict = base.production or jwks_url is not None
        secret: str | None = base.jwt_secret or None
        if strict and secret == config.LOCAL_JWT_SECRET and not env.get("JWT_SECRET"):
            secret = None  # the embedded default's secret is not a fallback here
        return cls(
            jwt_secret=secret,
            jwt_issuer=base.jwt_issuer,
            jwt_audience=env.get("JWT_AUDIENCE", "authenticated"),
            jwks_url=jwks_url,
            production=base.production,
            email_link_secret=env.get("EMAIL_LINK_SECRET") or None,
            api_token_ttl=int(env.get("EDGE_API_TOKEN_TTL", "900")),
            cors_origins=_list(env, "EDGE_CORS_ORIGINS"),
            max_body_bytes=int(env.get("EDGE_MAX_BODY_BYTES", str(1024 * 1024))),
            rate_ip=_limit(env, "EDGE_RATE_LIMIT_IP", "600/60"),
            rate_user=_limit(env, "EDGE_RATE_LIMIT_USER", "300/60"),
            rate_api_key=_limit(env, "EDGE_RATE_LIMIT_API_KEY", "600/60"),
            rate_webhook=_limit(env, "EDGE_RATE_LIMIT_WEBHOOK", "6000/60"),
            rate_webhook_refused=_limit(env, "EDGE_RATE_LIMIT_WEBHOOK_REFUSED", "60/60"),
            trusted_proxies=networks(_list(env, "TRUSTED_PROXIES")),
            metrics_token=env.get("METRICS_TOKEN") or None,
            ready_cache_seconds=float(env.get("EDGE_READY_CACHE_SECONDS", "1")),
            redis_url=env.get("REDIS_URL") or None,
            sentry_dsn=env.get("SENTRY_DSN") or None,
            resend_api_key=env.get("RESEND_API_KEY") or None,
            resend_api_url=env.get("RESEND_API_URL", "https://api.resend.com"),
            resend_webhook_secret=env.get("RESEND_WEBHOOK_SECRET") or None,
            # The embedded default (no DATABASE_URL, not production) signs with the public
            # local hook secret, as the local Auth does; anything else must configure one.
            send_email_hook_secret=env.get("SEND_EMAIL_HOOK_SECRET")
            or (
                config.LOCAL_SEND_EMAIL_HOOK_SECRET
                if not strict and base.database_url is None
                else None
            ),
            email_from=env.get("EMAIL_FROM", "Flagship <no-reply@flagship.local>"),
            public_url=env.get("EDGE_PUBLIC_URL", "http://127.0.0.1:54321").rstrip("/"),
            supabase_url=env.get("SUPABASE_URL", "http://127.0.0.1:54321").rstrip("/"),
            site_url=env.get("SITE_URL", "http://127.0.0.1:3000").rstrip("/"),
            batch_max=int(env.get("EDGE_BATCH_MAX", "20")),
            billing=BillingSettings.from_env(env),
            ai=AISettings.from_env(env),
        )
