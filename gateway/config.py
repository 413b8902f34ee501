"""Project settings the gateway serves by: `supabase/config.toml` plus the environment.

`supabase/config.toml` is the Supabase CLI's file; the gateway reads the same keys the
hosted services would be configured with ([api] schemas, max_rows, extra_search_path;
[auth] site_url, additional_redirect_urls, jwt_expiry ...). The raw sections stay
available (`toml`) for the parts of the gateway that need more of them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edge.settings import EdgeSettings
from flagship import config as flagship_config

CONFIG_FILE = flagship_config.SUPABASE_DIR / "config.toml"


class ConfigError(RuntimeError):
    """config.toml is missing a value or holds one of the wrong type."""


@dataclass(frozen=True)
class ApiConfig:
    """The [api] section: what PostgREST exposes."""

    schemas: tuple[str, ...] = ("public",)
    extra_search_path: tuple[str, ...] = ("public", "extensions")
    max_rows: int | None = 1000


@dataclass(frozen=True)
class AuthConfig:
    """The [auth] keys the gateway itself needs (CORS origins, token lifetime)."""

    site_url: str = "http://127.0.0.1:3000"
    additional_redirect_urls: tuple[str, ...] = ()
    jwt_expiry: int = 3600


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway is configured by; build it with `load()`."""

    settings: flagship_config.Settings
    edge: EdgeSettings
    api: ApiConfig = field(default_factory=ApiConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    toml: dict[str, Any] = field(default_factory=dict)

    @property
    def cors_origins(self) -> tuple[str, ...]:
        """site_url and additional_redirect_urls, as origins (scheme://host[:port])."""
        origins: list[str] = []
        for url in (self.auth.site_url, *self.auth.additional_redirect_urls):
            origin = _origin(url)
            if origin and origin not in origins:
                origins.append(origin)
        return tuple(origins)

    def with_api(self, **changes: Any) -> GatewayConfig:
        """A copy with some [api] values replaced (tests expose extra schemas this way)."""
        return replace(self, api=replace(self.api, **changes))


def _origin(url: str) -> str | None:
    scheme, sep, rest = url.partition("://")
    if not sep or not rest:
        return None
    host = rest.split("/", 1)[0]
    # A redirect URL may carry wildcards (`http://localhost:3000/**`); the host part stays.
    return f"{scheme}://{host}" if "*" not in host else None


def _strings(section: dict[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = section.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"config.toml: {key} must be a list of strings")
    return tuple(value)


def read_toml(path: Path = CONFIG_FILE) -> dict[str, Any]:
    """The parsed config.toml, or {} when the file does not exist."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def load(
    path: Path = CONFIG_FILE,
    settings: flagship_config.Settings | None = None,
    edge: EdgeSettings | None = None,
) -> GatewayConfig:
    """Read config.toml and the environment into one GatewayConfig."""
    settings = settings or flagship_config.Settings.from_env()
    edge = edge or EdgeSettings.from_env(settings)
    data = read_toml(path)
    api = data.get("api", {})
    auth = data.get("auth", {})
    max_rows = api.get("max_rows", 1000)
    if max_rows is not None and (not isinstance(max_rows, int) or max_rows < 0):
        raise ConfigError("config.toml: [api] max_rows must be a non-negative integer")
    return GatewayConfig(
        settings=settings,
        edge=edge,
        api=ApiConfig(
            schemas=_strings(api, "schemas", ("public",)),
            extra_search_path=_strings(api, "extra_search_path", ("public", "extensions")),
            max_rows=max_rows or None,
        ),
        auth=AuthConfig(
            site_url=str(auth.get("site_url", "http://127.0.0.1:3000")),
            additional_redirect_urls=_strings(auth, "additional_redirect_urls", ()),
            jwt_expiry=int(auth.get("jwt_expiry", 3600)),
        ),
        toml=data,
    )
