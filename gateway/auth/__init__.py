"""/auth/v1: a Supabase-Auth-compatible service over the auth schema (see docs/gateway.md).

`gateway.auth.app.create_auth_app(settings, pool)` builds it; `seed_users_banner()` is the
block `make up` prints about the seeded users.
"""

from __future__ import annotations

# The seeded users of supabase/seed.sql and their passwords (bcrypt hashes in the seed).
SEED_USERS: tuple[tuple[str, str, str], ...] = (
    ("admin@flagship.test", "flagship-admin-1", "admin"),
    ("instructor@flagship.test", "flagship-ines-1", "instructor"),
    ("moderator@flagship.test", "flagship-moe-1", "moderator"),
    ("alice@flagship.test", "flagship-alice-1", "learner"),
    ("bob@flagship.test", "flagship-bob-1", "player"),
)


def seed_users_banner() -> str:
    """Lines listing the seeded users' sign-in email, password and role."""
    width = max(len(email) for email, _, _ in SEED_USERS)
    lines = ["seeded users (email / password, sign in at /auth/v1/token?grant_type=password):"]
    lines += [f"  {email:<{width}}  {password:<18}  {role}" for email, password, role in SEED_USERS]
    return "\n".join(lines)
