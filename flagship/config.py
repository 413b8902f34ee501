"""Project paths and settings, read once from the environment.

Every default is the embedded one; production overrides come from environment variables
(`DATABASE_URL`, `JWT_SECRET`, ...), never from edits to this file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("FLAGSHIP_STATE_DIR", ROOT / ".flagship"))
SUPABASE_DIR = ROOT / "supabase"
MIGRATIONS_DIR = SUPABASE_DIR / "migrations"
SEED_FILE = SUPABASE_DIR / "seed.sql"
PGTAP_DIR = SUPABASE_DIR / "tests"
PLATFORM_DIR = ROOT / "sql" / "platform"

# The same development secret `supabase start` uses, so tokens minted here also work
# against a local Supabase stack. Never used when JWT_SECRET is set, and never in production
# (FLAGSHIP_ENV=production): it is public.
LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"  # noqa: S105  # nosec B105

# The Auth send-email hook's secret on the embedded default (no DATABASE_URL): the local
# /auth/v1 signs with it and the edge's hook endpoint verifies it. Anywhere else
# SEND_EMAIL_HOOK_SECRET must be set, or the hook answers 503.
LOCAL_SEND_EMAIL_HOOK_SECRET = "v1,whsec_ZmxhZ3NoaXAtbG9jYWwtc2VuZC1lbWFpbC1ob29r"  # noqa: S105

# Supabase's local Postgres port; the embedded server uses it for its socket name and,
# when TCP is requested, for its loopback listener.
DEFAULT_DB_PORT = 54322
DEFAULT_EDGE_PORT = 54321
ENVIRONMENTS = ("development", "production")


class ConfigError(RuntimeError):
    """The environment describes a configuration the process refuses to run with."""


@dataclass(frozen=True)
class Settings:
    """Runtime settings shared by the CLI, the edge service and the worker."""

    database_url: str | None
    jwt_secret: str
    jwt_issuer: str
    edge_host: str
    edge_port: int
    db_port: int
    environment: str = "development"

    @property
    def production(self) -> bool:
        """FLAGSHIP_ENV=production: no public development secret is ever used."""
        return self.environment == "production"

    @classmethod
    def from_env(cls) -> Settings:
        environment = os.environ.get("FLAGSHIP_ENV") or "development"
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"FLAGSHIP_ENV must be one of {', '.join(ENVIRONMENTS)}")
        secret = os.environ.get("JWT_SECRET") or ""
        if environment == "production" and secret == LOCAL_JWT_SECRET:
            raise ConfigError("JWT_SECRET is the public development secret; set a real one")
        return cls(
            environment=environment,
            database_url=os.environ.get("DATABASE_URL") or None,
            # Empty in production without JWT_SECRET: then nothing is signed with HS256.
            jwt_secret=secret or ("" if environment == "production" else LOCAL_JWT_SECRET),
            jwt_issuer=os.environ.get("JWT_ISSUER", "http://127.0.0.1:54321/auth/v1"),
            edge_host=os.environ.get("EDGE_HOST", "127.0.0.1"),
            edge_port=int(os.environ.get("EDGE_PORT", DEFAULT_EDGE_PORT)),
            db_port=int(os.environ.get("FLAGSHIP_DB_PORT", DEFAULT_DB_PORT)),
        )
