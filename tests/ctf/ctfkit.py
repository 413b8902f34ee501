"""CTF test helpers and the scene: a running team event with two teams, organisers of it
and of another event.

Everything is created through the API as the organiser, so the fixtures exercise the RPCs.
Time is controlled by setting the event's rows (starts_at, ends_at, freeze_at), never by sleeping.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from flagship.testing.harness import User, as_user, create_user, refresh


def grant_roles(db, user: User, *roles: str) -> User:
    for role in roles:
        db.execute(
            "insert into accounts.user_roles (user_id, role) values (%s, %s)"
            " on conflict do nothing",
            (user.id, role),
        )
    return refresh(db, user)


def q(db, who, sql: str, params: Any = None) -> list[dict]:
    """Run SQL as `who` (a User, 'anon' or 'service_role') and return all rows."""
    # The address the edge resolved; a client-written X-Forwarded-For must be ignored.
    forged = {"x-forwarded-for": "198.51.100.9", "x-flagship-client-ip": "198.51.100.10"}
    with as_user(db, who, headers=forged, client_ip="203.0.113.7"):
        cur = db.execute(sql, params)
        return cur.fetchall() if cur.description else []


def val(db, who, sql: str, params: Any = None):
    """The first column of the first row, as `who`."""
    rows = q(db, who, sql, params)
    value = next(iter(rows[0].values())) if rows else None
    return str(value) if isinstance(value, uuid.UUID) else value


def submit(db, who, challenge: str, flag: str) -> dict:
    return val(db, who, "select api.ctf_submit(%s, %s)", (challenge, flag))


@dataclass
class Scene:
    organiser: User
    other_organiser: User
    admin: User
    player: User  # captain of team A
    teammate: User  # member of team A
    other_player: User  # captain of team B
    outsider: User  # signed in, in no team
    event: str
    other_event: str
    team_a: str
    team_b: str
    invite_a: str
    challenge: str  # static 100 points, flag{one}
    ids: dict[str, str] = field(default_factory=dict)

    def get(self, name: str):
        if name in ("anon", "service_role"):
            return name
        return getattr(self, name)


def make_challenge(db, organiser, event: str, fields: dict, flags=(("static", "flag{x}"),)) -> str:
    body = {"state": "visible", **fields}
    cid = val(
        db,
        organiser,
        "select api.ctf_save_challenge(%s, %s::jsonb)",
        (event, json.dumps(body)),
    )
    for kind, content in flags:
        val(db, organiser, "select api.ctf_add_flag(%s, %s, %s)", (cid, kind, content))
    return cid


def make_team(db, who, event: str, name: str) -> tuple[str, str]:
    r = val(db, who, "select api.ctf_create_team(%s, %s)", (event, name))
    return r["team_id"], r["invite_code"]


def set_event(db, event: str, **columns) -> None:
    """Move an event in time (or pause it) directly, as the platform owner."""
    for key, value in columns.items():
        db.execute(f"update ctf.events set {key} = {value} where id = %s", (event,))


def build_scene(db) -> Scene:
    """The standard scene, created through the API in `db`'s transaction."""
    organiser = grant_roles(db, create_user(db, username="org_user"), "instructor")
    other_organiser = grant_roles(db, create_user(db, username="org_other"), "instructor")
    admin = grant_roles(db, create_user(db, username="ctf_admin"), "admin")
    player = create_user(db, username="player_a")
    teammate = create_user(db, username="mate_a")
    other_player = create_user(db, username="player_b")
    outsider = create_user(db, username="outsider")
    event = val(
        db,
        organiser,
        "select api.ctf_create_event(%s::jsonb)",
        (
            json.dumps(
                {
                    "slug": "test-ctf",
                    "title": "Test CTF",
                    "mode": "teams",
                    "team_size_limit": 3,
                    "brackets": ["open", "student"],
                }
            ),
        ),
    )
    set_event(db, event, starts_at="now() - interval '1 hour'", ends_at="now() + interval '1 day'")
    other_event = val(
        db,
        other_organiser,
        "select api.ctf_create_event(%s::jsonb)",
        (json.dumps({"slug": "other-ctf", "title": "Other CTF"}),),
    )
    team_a, invite_a = make_team(db, player, event, "Alpha")
    val(db, teammate, "select api.ctf_join_team(%s)", (invite_a,))
    team_b, _ = make_team(db, other_player, event, "Bravo")
    challenge = make_challenge(
        db,
        organiser,
        event,
        {"title": "Warmup", "category": "misc", "initial": 100, "description": "Easy one"},
        flags=(("static", "flag{one}"),),
    )
    return Scene(
        organiser,
        other_organiser,
        admin,
        player,
        teammate,
        other_player,
        outsider,
        event,
        other_event,
        team_a,
        team_b,
        invite_a,
        challenge,
    )
