"""Rows of the auth schema: users, identities and one-time tokens, as Supabase Auth keeps them.

Every function takes a dict-row cursor inside the caller's transaction (see
`gateway.auth.db.transaction`), which runs as `supabase_auth_admin`, the role Supabase Auth
connects as.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from psycopg import Cursor

# Which users column and one_time_tokens type hold each verification type's token.
TOKEN_COLUMNS = {
    "signup": ("confirmation_token", "confirmation_sent_at", "confirmation_token"),
    "invite": ("confirmation_token", "confirmation_sent_at", "confirmation_token"),
    "recovery": ("recovery_token", "recovery_sent_at", "recovery_token"),
    "magiclink": ("recovery_token", "recovery_sent_at", "recovery_token"),
    "reauthentication": (
        "reauthentication_token",
        "reauthentication_sent_at",
        "reauthentication_token",
    ),
}


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as Supabase Auth writes timestamps."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def otp(length: int) -> str:
    """A numeric one-time code of `length` digits."""
    return "".join(secrets.choice("0123456789") for _ in range(length))


def token_hash(email: str, code: str) -> str:
    """sha224(email + code) in hex: the `token_hash` of Supabase Auth's email links."""
    return hashlib.sha224((email + code).encode()).hexdigest()


def find_user(cur: Cursor, user_id: str | uuid.UUID, *, lock: bool = False) -> dict | None:
    sql = "select * from auth.users where id = %s" + (" for update" if lock else "")
    return cur.execute(sql, (str(user_id),)).fetchone()


def find_user_by_email(cur: Cursor, email: str, *, lock: bool = False) -> dict | None:
    """The user of an address; `lock` also takes the address's transaction lock first, so
    concurrent sign-ups, invites and admin creations of one address run one at a time."""
    if lock:
        cur.execute(
            "select pg_advisory_xact_lock(hashtextextended('auth.users:' || lower(%s), 0))",
            (email,),
        )
    sql = "select * from auth.users where lower(email) = lower(%s) and is_sso_user = false"
    return cur.execute(sql + (" for update" if lock else ""), (email,)).fetchone()


def identities(cur: Cursor, user_id: str | uuid.UUID) -> list[dict]:
    return cur.execute(
        "select * from auth.identities where user_id = %s order by created_at", (str(user_id),)
    ).fetchall()


def user_json(cur: Cursor, user: dict, *, with_identities: bool = True) -> dict[str, Any]:
    """The user object Supabase Auth answers with (models.User's JSON)."""
    out: dict[str, Any] = {
        "id": str(user["id"]),
        "aud": user.get("aud") or "",
        "role": user.get("role") or "",
        "email": user.get("email") or "",
        "email_confirmed_at": iso(user.get("email_confirmed_at")),
        "invited_at": iso(user.get("invited_at")),
        "phone": user.get("phone") or "",
        "phone_confirmed_at": iso(user.get("phone_confirmed_at")),
        "confirmation_sent_at": iso(user.get("confirmation_sent_at")),
        "confirmed_at": iso(user.get("confirmed_at")),
        "recovery_sent_at": iso(user.get("recovery_sent_at")),
        "new_email": user.get("email_change") or None,
        "email_change_sent_at": iso(user.get("email_change_sent_at")),
        "last_sign_in_at": iso(user.get("last_sign_in_at")),
        "app_metadata": user.get("raw_app_meta_data") or {},
        "user_metadata": user.get("raw_user_meta_data") or {},
        "identities": [],
        "created_at": iso(user.get("created_at")),
        "updated_at": iso(user.get("updated_at")),
        "banned_until": iso(user.get("banned_until")),
        "deleted_at": iso(user.get("deleted_at")),
        "is_anonymous": bool(user.get("is_anonymous")),
    }
    out = {k: v for k, v in out.items() if v is not None}
    if with_identities:
        out["identities"] = [
            {
                "identity_id": str(i["id"]),
                "id": i["provider_id"],
                "user_id": str(i["user_id"]),
                "identity_data": i["identity_data"],
                "provider": i["provider"],
                "last_sign_in_at": iso(i["last_sign_in_at"]),
                "created_at": iso(i["created_at"]),
                "updated_at": iso(i["updated_at"]),
                "email": i["email"],
            }
            for i in identities(cur, user["id"])
        ]
    return out


def create_user(
    cur: Cursor,
    *,
    email: str,
    encrypted_password: str | None,
    user_metadata: dict | None,
    app_metadata: dict | None = None,
    confirmed: bool = False,
    invited: bool = False,
    user_id: str | None = None,
    role: str = "authenticated",
    banned_until: datetime | None = None,
) -> dict:
    """Insert a user with its email identity, as Supabase Auth's sign-up does."""
    uid = user_id or str(uuid.uuid4())
    app = {"provider": "email", "providers": ["email"], **(app_metadata or {})}
    moment = now()
    user = cur.execute(
        """
        insert into auth.users (
            instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
            invited_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
            confirmation_token, recovery_token, email_change_token_new, email_change,
            banned_until, is_anonymous, is_sso_user
        ) values (
            '00000000-0000-0000-0000-000000000000', %s, 'authenticated', %s, %s, %s, %s,
            %s, %s::jsonb, %s::jsonb, %s, %s, '', '', '', '', %s, false, false
        )
        returning *
        """,
        (
            uid,
            role,
            email,
            encrypted_password,
            moment if confirmed else None,
            moment if invited else None,
            json.dumps(app),
            json.dumps(user_metadata or {}),
            moment,
            moment,
            banned_until,
        ),
    ).fetchone()
    data = {
        "sub": uid,
        "email": email,
        "email_verified": confirmed,
        "phone_verified": False,
        **{k: v for k, v in (user_metadata or {}).items() if k not in ("sub", "email")},
    }
    cur.execute(
        """
        insert into auth.identities (provider_id, user_id, identity_data, provider,
                                     last_sign_in_at, created_at, updated_at)
        values (%s, %s, %s::jsonb, 'email', %s, %s, %s)
        """,
        (uid, uid, json.dumps(data), moment, moment, moment),
    )
    return user


def update_user(cur: Cursor, user_id: str | uuid.UUID, **columns: Any) -> dict:
    """Set the given auth.users columns (jsonb ones given as dicts) and touch updated_at."""
    sets = []
    values: list[Any] = []
    for column, value in columns.items():
        if column in ("raw_app_meta_data", "raw_user_meta_data"):
            sets.append(f"{column} = %s::jsonb")
            values.append(json.dumps(value))
        else:
            sets.append(f"{column} = %s")
            values.append(value)
    sets.append("updated_at = now()")
    return cur.execute(
        f"update auth.users set {', '.join(sets)} where id = %s returning *",
        (*values, str(user_id)),
    ).fetchone()


def set_identity_email(cur: Cursor, user_id: str, email: str, verified: bool) -> None:
    cur.execute(
        """
        update auth.identities
           set identity_data = identity_data
                   || jsonb_build_object('email', %s::text, 'email_verified', %s::boolean),
               updated_at = now()
         where user_id = %s and provider = 'email'
        """,
        (email, verified, user_id),
    )


def touch_sign_in(cur: Cursor, user_id: str) -> dict:
    cur.execute(
        "update auth.identities set last_sign_in_at = now() where user_id = %s"
        " and provider = 'email'",
        (user_id,),
    )
    return cur.execute(
        "update auth.users set last_sign_in_at = now(), updated_at = now() where id = %s"
        " returning *",
        (user_id,),
    ).fetchone()


def save_one_time_token(
    cur: Cursor, user_id: str, token_type: str, hashed: str, relates_to: str
) -> None:
    """One row per user and type (the unique index), replacing an earlier token."""
    cur.execute(
        """
        insert into auth.one_time_tokens (id, user_id, token_type, token_hash, relates_to)
        values (%s, %s, %s::auth.one_time_token_type, %s, %s)
        on conflict (user_id, token_type) do update
           set id = excluded.id, token_hash = excluded.token_hash,
               relates_to = excluded.relates_to, created_at = now(), updated_at = now()
        """,
        (str(uuid.uuid4()), user_id, token_type, hashed, relates_to.lower()),
    )


def clear_one_time_token(cur: Cursor, user_id: str, token_type: str) -> None:
    cur.execute(
        "delete from auth.one_time_tokens where user_id = %s"
        " and token_type = %s::auth.one_time_token_type",
        (user_id, token_type),
    )


def find_one_time_token(
    cur: Cursor, hashes: tuple[str, ...], token_types: tuple[str, ...]
) -> dict | None:
    """The one-time token stored under any of `hashes` (with and without the PKCE prefix)."""
    return cur.execute(
        """
        select * from auth.one_time_tokens
         where token_hash = any(%s) and token_type::text = any(%s)
         order by created_at desc limit 1
        """,
        (list(hashes), list(token_types)),
    ).fetchone()
