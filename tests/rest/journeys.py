"""The scene the client journeys run in, committed in the gateway's database.

Set up as the platform does it (users through auth.users, roles, an organiser's event and
challenge, a teacher's published course, a forum category), through the API where the
domain offers an RPC; the journeys themselves then go through the real clients.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import bcrypt

from flagship import config, tokens
from flagship.database import connect
from flagship.testing.harness import User, as_user, create_user, refresh


def _one(conn, who: User, sql: str, params: Any = None):
    with as_user(conn, who):
        row = conn.execute(sql, params).fetchone()
    value = next(iter(row.values()))
    return str(value) if isinstance(value, uuid.UUID) else value


def _grant(conn, user: User, role: str) -> User:
    conn.execute(
        "insert into accounts.user_roles (user_id, role) values (%s, %s) on conflict do nothing",
        (user.id, role),
    )
    return refresh(conn, user)


def token(user: User) -> str:
    return tokens.sign(user.claims, config.Settings.from_env().jwt_secret)


def build(admin_url: str) -> dict[str, Any]:
    """Create the scene (unique names, so it can be built more than once) and commit it."""
    tag = uuid.uuid4().hex[:8]
    with connect(admin_url) as conn:
        users = {
            name: create_user(conn, username=f"{name}_{tag}")
            for name in (
                "organiser",
                "player",
                "teammate",
                "py_learner",
                "py_player",
                "teacher",
                "learner",
                "poster",
                "reporter",
                "moderator",
                "admin",
            )
        }
        # A password for each, as Supabase Auth stores it (bcrypt), so the journeys can sign
        # in through /auth/v1 like a frontend does.
        password = f"journey-{tag}-pw"
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
        conn.execute(
            "update auth.users set encrypted_password = %s,"
            " email_confirmed_at = coalesce(email_confirmed_at, now()) where id = any(%s::uuid[])",
            (hashed, [u.id for u in users.values()]),
        )
        users["organiser"] = _grant(conn, users["organiser"], "instructor")
        users["teacher"] = _grant(conn, users["teacher"], "instructor")
        users["moderator"] = _grant(conn, users["moderator"], "moderator")
        users["admin"] = _grant(conn, users["admin"], "admin")
        for name in ("poster", "reporter"):
            conn.execute(
                "insert into community.members (user_id, trust_level) values (%s, 2)"
                " on conflict (user_id) do update set trust_level = 2",
                (users[name].id,),
            )
        event = _one(
            conn,
            users["organiser"],
            "select api.ctf_create_event(%s::jsonb)",
            (
                json.dumps(
                    {
                        "slug": f"journey-{tag}",
                        "title": "Journey CTF",
                        "mode": "teams",
                        "team_size_limit": 3,
                    }
                ),
            ),
        )
        conn.execute(
            "update ctf.events set starts_at = now() - interval '1 hour',"
            " ends_at = now() + interval '1 day' where id = %s",
            (event,),
        )
        challenge = _one(
            conn,
            users["organiser"],
            "select api.ctf_save_challenge(%s, %s::jsonb)",
            (
                event,
                json.dumps(
                    {
                        "state": "visible",
                        "title": "Warmup",
                        "category": "misc",
                        "initial": 100,
                        "description": "Find the flag",
                    }
                ),
            ),
        )
        _one(
            conn,
            users["organiser"],
            "select api.ctf_add_flag(%s, 'static', 'flag{right}')",
            (challenge,),
        )
        teacher = users["teacher"]
        course = _one(
            conn,
            teacher,
            "select api.learning_create_course(%s, %s, 'Basics')",
            (f"web-{tag}", f"Web security {tag}"),
        )["id"]
        module = _one(
            conn, teacher, "select api.learning_create_module(%s, 'Foundations')", (course,)
        )
        lessons = [
            _one(
                conn,
                teacher,
                "select api.learning_create_lesson(%s, %s, 'article', %s)",
                (module, title, json.dumps({"body_md": f"# {title}"})),
            )
            for title in ("Intro", "Headers")
        ]
        _one(conn, teacher, "select api.learning_publish_course(%s)", (course,))
        category = _one(
            conn,
            users["admin"],
            "select api.community_save_category(%s, %s, null, 'everyone', 'members')",
            (f"general-{tag}", "General"),
        )
        conn.commit()
    return {
        "tag": tag,
        "password": password,
        "event": event,
        "challenge": challenge,
        "course": course,
        "course_title": f"Web security {tag}",
        "lessons": lessons,
        "category": category,
        "users": {
            name: {"id": u.id, "email": u.email, "token": token(u)} for name, u in users.items()
        },
    }
