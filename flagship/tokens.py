"""Mint access tokens as Supabase Auth would, with the local JWT secret.

A user token carries Supabase's standard claims and then passes through the Custom Access
Token Hook configured in `supabase/config.toml`, executed as `supabase_auth_admin` exactly
as Supabase Auth runs it, so the roles claim comes from the database and not from here.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
import uuid
from typing import Any

import jwt
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from flagship import config
from flagship.database import connect

HOOK_URI = re.compile(
    r"^pg-functions://[^/]+/(?P<schema>[a-z_][a-z0-9_]*)/(?P<fn>[a-z_][a-z0-9_]*)$"
)


class TokenError(RuntimeError):
    """The token could not be minted, with a one-line reason."""


def access_token_hook() -> tuple[str, str] | None:
    """(schema, function) of the enabled custom access token hook, from config.toml."""
    path = config.SUPABASE_DIR / "config.toml"
    if not path.exists():
        return None
    data = tomllib.loads(path.read_text())
    hook = data.get("auth", {}).get("hook", {}).get("custom_access_token", {})
    if not hook.get("enabled"):
        return None
    match = HOOK_URI.match(hook.get("uri", ""))
    if not match:
        raise TokenError(f"unsupported custom_access_token hook uri: {hook.get('uri')!r}")
    return match["schema"], match["fn"]


def key_claims(role: str, ttl: int, issuer: str) -> dict[str, Any]:
    """Claims of the project API keys (anon / service_role), which name no user."""
    now = int(time.time())
    return {"iss": issuer, "role": role, "iat": now, "exp": now + ttl}


def user_claims(
    user: dict[str, Any],
    ttl: int,
    issuer: str,
    *,
    session_id: str | None = None,
    amr: list[dict[str, Any]] | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """Supabase Auth's claims for a signed-in user, before the hook runs.

    The Auth service passes its session's id and authentication methods; the CLI mints a
    token for a fresh, unrecorded session (a random id, `password`).
    """
    now = int(time.time()) if now is None else now
    app_meta = user.get("raw_app_meta_data") or {"provider": "email", "providers": ["email"]}
    return {
        "iss": issuer,
        "aud": "authenticated",
        "sub": str(user["id"]),
        "email": user.get("email") or "",
        "phone": user.get("phone") or "",
        "app_metadata": app_meta,
        "user_metadata": user.get("raw_user_meta_data") or {},
        "role": "authenticated",
        "aal": "aal1",
        "amr": amr if amr is not None else [{"method": "password", "timestamp": now}],
        "session_id": session_id or str(uuid.uuid4()),
        "is_anonymous": bool(user.get("is_anonymous")),
        "iat": now,
        "exp": now + ttl,
    }


def find_user(conn: psycopg.Connection, who: str) -> dict[str, Any]:
    """A user by id, email or profile username."""
    try:
        user_id = uuid.UUID(who)
    except ValueError:
        user_id = None
    if user_id:
        row = conn.execute("select * from auth.users where id = %s", (user_id,)).fetchone()
    else:
        row = conn.execute(
            "select * from auth.users where lower(email) = lower(%s)", (who,)
        ).fetchone()
        if (
            row is None
            and conn.execute("select to_regclass('accounts.profiles') is not null as e").fetchone()[
                "e"
            ]
        ):
            row = conn.execute(
                "select u.* from auth.users u join accounts.profiles p on p.id = u.id"
                " where lower(p.username) = lower(%s)",
                (who,),
            ).fetchone()
    if row is None:
        raise TokenError(f"no such user: {who}")
    return row


_FROM_CONFIG: Any = object()


def run_access_token_hook(
    conn: psycopg.Connection,
    user_id: str,
    claims: dict,
    *,
    hook: tuple[str, str] | None = _FROM_CONFIG,
    authentication_method: str = "password",
) -> dict:
    """Pass the claims through the configured hook as `supabase_auth_admin` does.

    `hook` defaults to the one in config.toml; the role in force before the call is the
    role in force after it, so the Auth service can call it inside its own transaction.
    """
    if hook is _FROM_CONFIG:
        hook = access_token_hook()
    if hook is None:
        return claims
    event = {
        "user_id": user_id,
        "claims": claims,
        "authentication_method": authentication_method,
    }
    with conn.cursor(row_factory=dict_row) as cur, conn.transaction():
        before = cur.execute("select current_user as r").fetchone()["r"]
        cur.execute("set local role supabase_auth_admin")
        row = cur.execute(
            sql.SQL("select {}.{}(%s::jsonb) as result").format(
                sql.Identifier(hook[0]), sql.Identifier(hook[1])
            ),
            (json.dumps(event),),
        ).fetchone()
        cur.execute(sql.SQL("set local role {}").format(sql.Identifier(before)))
    result = row["result"] or {}
    if "error" in result:
        raise TokenError(f"access token hook refused: {result['error'].get('message')}")
    if "claims" not in result:
        raise TokenError("access token hook returned no claims")
    return result["claims"]


def sign(claims: dict[str, Any], secret: str) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def mint_for_user(admin_url: str, who: str, ttl: int = 3600) -> tuple[dict, str]:
    """Claims and signed token for a user, as Supabase Auth would issue them."""
    settings = config.Settings.from_env()
    with connect(admin_url, autocommit=True) as conn:
        user = find_user(conn, who)
        claims = run_access_token_hook(
            conn, str(user["id"]), user_claims(user, ttl, settings.jwt_issuer)
        )
    return claims, sign(claims, settings.jwt_secret)


def mint_key(role: str, ttl: int | None = None) -> str:
    """The project's API key for `role` (what `apikey` must carry through the gateway);
    with `ttl`, a fresh key-shaped token of that lifetime instead."""
    settings = config.Settings.from_env()
    if ttl is None:
        from gateway.keys import project_keys

        keys = project_keys(settings.jwt_secret)
        return keys.anon if role == "anon" else keys.service_role
    return sign(key_claims(role, ttl, settings.jwt_issuer), settings.jwt_secret)
