"""CTF fixtures (helpers live in ctfkit.py)."""

from __future__ import annotations

import json

import pytest
from ctfkit import Scene, create_user, grant_roles, make_challenge, make_team, set_event, val


@pytest.fixture
def ctf(db) -> Scene:
    organiser = grant_roles(db, create_user(db, username="org_user"), "organiser")
    other_organiser = grant_roles(db, create_user(db, username="org_other"), "organiser")
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
