"""The Auth settings, read from the [auth] sections of supabase/config.toml.

The keys and their meaning are the Supabase CLI's: [auth] site_url, jwt_expiry,
enable_signup, minimum_password_length, password_requirements,
enable_refresh_token_rotation, refresh_token_reuse_interval; [auth.email]
enable_confirmations, double_confirm_changes, secure_password_change, max_frequency,
otp_length, otp_expiry; [auth.rate_limit]; [auth.hook.send_email] and
[auth.hook.custom_access_token]. `env(NAME)` values are read from the environment.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from flagship import tokens as flagship_tokens

REQUIREMENTS = {
    "": (),
    "letters_digits": ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"),
    "lower_upper_letters_digits": (
        "abcdefghijklmnopqrstuvwxyz",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
    ),
    "lower_upper_letters_digits_symbols": (
        "abcdefghijklmnopqrstuvwxyz",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        "!@#$%^&*()_+-=[]{};'\\:\"|<>?,./`~",
    ),
}
ENV_REF = re.compile(r"^env\((?P<name>[A-Za-z_][A-Za-z0-9_]*)\)$")
DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)(?P<unit>h|m|s|ms)")


class AuthConfigError(RuntimeError):
    """A config.toml [auth] value is missing or malformed."""


@dataclass(frozen=True)
class RateLimits:
    email_sent: int = 2  # emails per hour, for the whole instance
    token_refresh: int = 150  # per 5 minutes per IP
    sign_in_sign_ups: int = 30  # per 5 minutes per IP
    token_verifications: int = 30  # per 5 minutes per IP
    window_seconds: float = 300.0
    email_window_seconds: float = 3600.0


@dataclass(frozen=True)
class AuthSettings:
    """Everything /auth/v1 is configured by."""

    jwt_secret: str
    jwt_issuer: str
    external_url: str  # where /auth/v1 is reachable (verify links)
    site_url: str = "http://127.0.0.1:3000"
    additional_redirect_urls: tuple[str, ...] = ()
    jwt_expiry: int = 3600
    enable_signup: bool = True
    enable_confirmations: bool = False
    double_confirm_changes: bool = True
    secure_password_change: bool = False
    max_frequency: float = 60.0
    otp_length: int = 6
    otp_expiry: int = 3600
    minimum_password_length: int = 6
    password_requirements: str = ""
    refresh_token_rotation: bool = True
    refresh_token_reuse_interval: int = 10
    rate_limits: RateLimits = RateLimits()
    send_email_uri: str | None = None
    send_email_secret: str | None = None
    access_token_hook: tuple[str, str] | None = None
    redis_url: str | None = None

    @property
    def autoconfirm(self) -> bool:
        return not self.enable_confirmations


def _env(value: Any) -> Any:
    if isinstance(value, str):
        match = ENV_REF.match(value.strip())
        if match:
            return os.environ.get(match["name"]) or None
    return value


def duration_seconds(value: Any) -> float:
    """Go-style durations as the CLI writes them ("1m0s", "60s") or plain seconds."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    parts = DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise AuthConfigError(f"config.toml: bad duration {value!r}")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def _hook(section: dict[str, Any]) -> tuple[str, str] | None:
    if not section.get("enabled"):
        return None
    match = flagship_tokens.HOOK_URI.match(section.get("uri", ""))
    if not match:
        raise AuthConfigError(f"unsupported custom_access_token hook uri: {section.get('uri')!r}")
    return match["schema"], match["fn"]


def from_gateway(gateway_config: Any) -> AuthSettings:
    """AuthSettings from the gateway's config (its `toml`, `settings` and `edge`)."""
    data = getattr(gateway_config, "toml", {}) or {}
    base = gateway_config.settings
    edge = gateway_config.edge
    return from_toml(data, base.jwt_secret, base.jwt_issuer, edge)


def from_toml(data: dict[str, Any], jwt_secret: str, jwt_issuer: str, edge: Any) -> AuthSettings:
    auth = data.get("auth", {})
    email = auth.get("email", {})
    limits = auth.get("rate_limit", {})
    hooks = auth.get("hook", {})
    send = hooks.get("send_email", {})
    requirements = str(auth.get("password_requirements", ""))
    if requirements not in REQUIREMENTS:
        raise AuthConfigError(f"config.toml: unknown password_requirements {requirements!r}")
    send_uri = send.get("uri") if send.get("enabled") else None
    # SEND_EMAIL_HOOK_URI moves the hook (a gateway on another port), as GoTrue's
    # GOTRUE_HOOK_SEND_EMAIL_URI does.
    if send_uri and os.environ.get("SEND_EMAIL_HOOK_URI"):
        send_uri = os.environ["SEND_EMAIL_HOOK_URI"]
    # `secrets = "env(SEND_EMAIL_HOOK_SECRET)"`; the edge reads the same variable (and the
    # same local default on the embedded server), so both ends agree.
    send_secret = _env(send.get("secrets")) or getattr(edge, "send_email_hook_secret", None)
    return AuthSettings(
        jwt_secret=jwt_secret,
        jwt_issuer=jwt_issuer,
        external_url=f"{edge.supabase_url}/auth/v1",
        site_url=str(auth.get("site_url", "http://127.0.0.1:3000")).rstrip("/"),
        additional_redirect_urls=tuple(auth.get("additional_redirect_urls", ())),
        jwt_expiry=int(auth.get("jwt_expiry", 3600)),
        enable_signup=bool(auth.get("enable_signup", True))
        and bool(email.get("enable_signup", True)),
        enable_confirmations=bool(email.get("enable_confirmations", False)),
        double_confirm_changes=bool(email.get("double_confirm_changes", True)),
        secure_password_change=bool(email.get("secure_password_change", False)),
        max_frequency=duration_seconds(email.get("max_frequency", "1m0s")),
        otp_length=int(email.get("otp_length", 6)),
        otp_expiry=int(email.get("otp_expiry", 3600)),
        minimum_password_length=int(auth.get("minimum_password_length", 6)),
        password_requirements=requirements,
        refresh_token_rotation=bool(auth.get("enable_refresh_token_rotation", True)),
        refresh_token_reuse_interval=int(auth.get("refresh_token_reuse_interval", 10)),
        rate_limits=RateLimits(
            email_sent=int(limits.get("email_sent", 2)),
            token_refresh=int(limits.get("token_refresh", 150)),
            sign_in_sign_ups=int(limits.get("sign_in_sign_ups", 30)),
            token_verifications=int(limits.get("token_verifications", 30)),
        ),
        send_email_uri=_env(send_uri),
        send_email_secret=send_secret if send_uri else None,
        access_token_hook=_hook(hooks.get("custom_access_token", {})),
        redis_url=getattr(edge, "redis_url", None),
    )
