"""Teams, events, hints, awards and feedback."""

from __future__ import annotations

import json

from ctfkit import create_user, grant_roles, make_challenge, make_team, q, set_event, submit, val

from flagship.testing.harness import api_error


def members(db, team):
    return {
        str(r["user_id"])
        for r in db.execute("select user_id from ctf.participants where team_id = %s", (team,))
    }


def test_create_event_needs_permission(db, ctf):
    body = json.dumps({"slug": "mine", "title": "Mine"})
    with api_error(db, "forbidden", "42501"):
        val(db, ctf.player, "select api.ctf_create_event(%s::jsonb)", (body,))
    with api_error(db, None, "42501"):
        val(db, "anon", "select api.ctf_create_event(%s::jsonb)", (body,))
    with api_error(db, "ctf_slug_taken", "PT409"):
        val(
            db,
            ctf.organiser,
            "select api.ctf_create_event(%s::jsonb)",
            (json.dumps({"slug": "test-ctf", "title": "Again"}),),
        )
    with api_error(db, "invalid_argument", "22023"):
        val(
            db,
            ctf.organiser,
            "select api.ctf_create_event(%s::jsonb)",
            (json.dumps({"slug": "x-y", "title": "T", "starts_at": "yesterday-ish"}),),
        )
    with api_error(db, "invalid_argument", "22023"):
        val(
            db,
            ctf.organiser,
            "select api.ctf_create_event(%s::jsonb)",
            (
                json.dumps(
                    {
                        "slug": "x-z",
                        "title": "T",
                        "starts_at": "2030-01-02",
                        "ends_at": "2030-01-01",
                    }
                ),
            ),
        )
    with api_error(db, "ctf_not_organiser", "PT403"):
        val(
            db,
            ctf.other_organiser,
            "select api.ctf_update_event(%s, '{\"paused\": true}')",
            (ctf.event,),
        )
    val(db, ctf.admin, "select api.ctf_update_event(%s, '{\"paused\": true}')", (ctf.event,))
    assert (
        val(db, ctf.player, "select status from api.ctf_events where id = %s", (ctf.event,))
        == "paused"
    )


def test_practice_arena_is_open_forever(db, ctf):
    ev = db.execute("select * from ctf.events where slug = 'practice'").fetchone()
    assert ev["ends_at"] is None and ev["is_practice"] and ev["mode"] == "individual"
    team = val(db, ctf.outsider, "select api.ctf_register(%s)", (ev["id"],))
    assert members(db, team) == {ctf.outsider.id}
    with api_error(db, "ctf_wrong_mode", "PT409"):
        val(db, ctf.admin, "select api.ctf_create_team(%s, 'x')", (ev["id"],))


def test_team_lifecycle(db, ctf):
    assert members(db, ctf.team_a) == {ctf.player.id, ctf.teammate.id}
    # one team per member per event
    with api_error(db, "ctf_already_registered", "PT409"):
        make_team(db, ctf.teammate, ctf.event, "Charlie")
    code_b = val(db, ctf.other_player, "select api.ctf_get_team_invite_code(%s)", (ctf.team_b,))
    with api_error(db, "ctf_already_registered", "PT409"):
        val(db, ctf.teammate, "select api.ctf_join_team(%s)", (code_b,))
    # invite codes are secret
    with api_error(db, "ctf_not_team_member", "PT403"):
        val(db, ctf.other_player, "select api.ctf_get_team_invite_code(%s)", (ctf.team_a,))
    with api_error(db, None, "42501"):
        q(db, ctf.player, "select invite_code from ctf.teams")
    with api_error(db, "ctf_invite_invalid", "PT404"):
        val(db, ctf.outsider, "select api.ctf_join_team('nope')")
    # size limit (3)
    val(db, ctf.outsider, "select api.ctf_join_team(%s)", (ctf.invite_a,))
    extra = create_user(db, username="extra_user")
    with api_error(db, "ctf_team_full", "PT409"):
        val(db, extra, "select api.ctf_join_team(%s)", (ctf.invite_a,))
    # rename with uniqueness (case-insensitive)
    with api_error(db, "ctf_team_name_taken", "PT409"):
        val(db, ctf.player, "select api.ctf_rename_team(%s, 'bravo')", (ctf.team_a,))
    with api_error(db, "ctf_not_captain", "PT403"):
        val(db, ctf.teammate, "select api.ctf_rename_team(%s, 'Zulu')", (ctf.team_a,))
    val(db, ctf.player, "select api.ctf_rename_team(%s, 'Alpha Prime')", (ctf.team_a,))
    # kick, captain must transfer before leaving, solves stay with the team
    submit(db, ctf.teammate, ctf.challenge, "flag{one}")
    val(db, ctf.player, "select api.ctf_kick_member(%s, %s)", (ctf.team_a, ctf.outsider.id))
    with api_error(db, "ctf_captain_must_transfer", "PT409"):
        val(db, ctf.player, "select api.ctf_leave_team(%s)", (ctf.event,))
    with api_error(db, "ctf_not_team_member", "PT403"):
        val(
            db,
            ctf.player,
            "select api.ctf_transfer_captaincy(%s, %s)",
            (ctf.team_a, ctf.other_player.id),
        )
    val(db, ctf.player, "select api.ctf_transfer_captaincy(%s, %s)", (ctf.team_a, ctf.teammate.id))
    val(db, ctf.player, "select api.ctf_leave_team(%s)", (ctf.event,))
    # the teammate made an attempt for the team: bound to it for the rest of the event
    with api_error(db, "ctf_membership_locked", "PT403"):
        val(db, ctf.teammate, "select api.ctf_leave_team(%s)", (ctf.event,))
    assert members(db, ctf.team_a) == {ctf.teammate.id}
    assert (
        db.execute("select score from ctf.standings where team_id = %s", (ctf.team_a,)).fetchone()[
            "score"
        ]
        == 100
    )
    # the former member can start again elsewhere
    make_team(db, ctf.player, ctf.event, "Delta")


def test_registration_closed_and_banned_team(db, ctf):
    val(db, ctf.organiser, "select api.ctf_moderate_team(%s, true, null, 'x')", (ctf.team_b,))
    code_b = db.execute(
        "select invite_code from ctf.teams where id = %s", (ctf.team_b,)
    ).fetchone()["invite_code"]
    with api_error(db, "ctf_banned", "PT403"):
        val(db, ctf.outsider, "select api.ctf_join_team(%s)", (code_b,))
    with api_error(db, "ctf_banned", "PT403"):
        submit(db, ctf.other_player, ctf.challenge, "flag{one}")
    val(
        db,
        ctf.organiser,
        "select api.ctf_update_event(%s, '{\"registration_open\": false}')",
        (ctf.event,),
    )
    with api_error(db, "ctf_registration_closed", "PT403"):
        make_team(db, ctf.outsider, ctf.event, "Late")
    audit = db.execute(
        "select count(*) as n from ops.audit_log where action = 'ctf.team_moderated'"
    ).fetchone()
    assert audit["n"] == 1


def test_hints(db, ctf):
    h1 = val(
        db, ctf.organiser, "select api.ctf_add_hint(%s, 'secret hint one', 30)", (ctf.challenge,)
    )
    h2 = val(
        db,
        ctf.organiser,
        "select api.ctf_add_hint(%s, 'secret hint two', 0, 'Second', %s)",
        (ctf.challenge, h1),
    )
    # never readable before unlock, through any path
    for who in (ctf.player, ctf.other_player, "anon", ctf.other_organiser):
        assert q(db, who, "select content from api.ctf_hints where content is not null") == []
        assert q(db, who, "select * from ctf.hint_contents") == []
    assert q(db, ctf.player, "select * from ctf.hint_contents") == []
    with api_error(db, "ctf_hint_prerequisite", "PT409"):
        val(db, ctf.player, "select api.ctf_unlock_hint(%s)", (h2,))
    with api_error(db, "ctf_insufficient_points", "PT409"):
        val(db, ctf.player, "select api.ctf_unlock_hint(%s)", (h1,))
    submit(db, ctf.player, ctf.challenge, "flag{one}")
    r = val(db, ctf.player, "select api.ctf_unlock_hint(%s)", (h1,))
    assert r["content"] == "secret hint one" and r["newly_unlocked"]
    r = val(db, ctf.teammate, "select api.ctf_unlock_hint(%s)", (h1,))  # idempotent
    assert not r["newly_unlocked"]
    assert (
        db.execute("select score from ctf.standings where team_id = %s", (ctf.team_a,)).fetchone()[
            "score"
        ]
        == 70
    )
    assert (
        q(db, ctf.teammate, "select content from api.ctf_hints where id = %s", (h1,))[0]["content"]
        == "secret hint one"
    )
    assert (
        q(db, ctf.other_player, "select content from api.ctf_hints where id = %s", (h1,))[0][
            "content"
        ]
        is None
    )
    val(db, ctf.player, "select api.ctf_unlock_hint(%s)", (h2,))
    assert (
        db.execute("select private.ctf_standings_mismatches(%s) as m", (ctf.event,)).fetchone()["m"]
        == []
    )


def test_awards_and_feedback(db, ctf):
    with api_error(db, "ctf_not_organiser", "PT403"):
        val(
            db,
            ctf.other_organiser,
            "select api.ctf_grant_award(%s, %s, 50, 'x')",
            (ctf.event, ctf.team_a),
        )
    with api_error(db, "invalid_argument", "22023"):
        val(
            db, ctf.organiser, "select api.ctf_grant_award(%s, %s, 50, '')", (ctf.event, ctf.team_a)
        )
    award = val(
        db,
        ctf.organiser,
        "select api.ctf_grant_award(%s, %s, 50, 'writeup prize')",
        (ctf.event, ctf.team_a),
    )
    board = q(db, "anon", "select * from api.ctf_get_scoreboard(%s)", (ctf.event,))
    assert [(b["team_name"], b["score"]) for b in board] == [("Alpha", 50)]
    val(db, ctf.organiser, "select api.ctf_remove_award(%s, 'mistake')", (award,))
    assert q(db, "anon", "select * from api.ctf_get_scoreboard(%s)", (ctf.event,)) == []
    actions = [
        r["action"]
        for r in db.execute(
            "select action from ops.audit_log where action like 'ctf.award%%' order by id"
        )
    ]
    assert actions == ["ctf.award_granted", "ctf.award_removed"]
    # feedback: after solving only
    with api_error(db, "ctf_feedback_not_allowed", "PT403"):
        val(db, ctf.player, "select api.ctf_give_feedback(%s, 5, 'great')", (ctf.challenge,))
    submit(db, ctf.player, ctf.challenge, "flag{one}")
    val(db, ctf.player, "select api.ctf_give_feedback(%s, 5, 'great')", (ctf.challenge,))
    val(db, ctf.teammate, "select api.ctf_give_feedback(%s, 3)", (ctf.challenge,))
    with api_error(db, "invalid_argument", "22023"):
        val(db, ctf.teammate, "select api.ctf_give_feedback(%s, 9)", (ctf.challenge,))
    summary = q(db, ctf.organiser, "select * from api.ctf_feedback_summary")[0]
    assert summary["ratings"] == 2 and float(summary["average_rating"]) == 4.0
    assert q(db, ctf.player, "select ratings from api.ctf_feedback_summary")[0]["ratings"] == 1
    # after the event, everyone registered may rate
    set_event(db, ctf.event, ends_at="now() - interval '1 second'")
    val(db, ctf.other_player, "select api.ctf_give_feedback(%s, 1)", (ctf.challenge,))


def test_files_bucket(db, ctf):
    path = f"{ctf.event}/{ctf.challenge}/task.zip"
    with api_error(db, "invalid_argument", "22023"):
        val(db, ctf.organiser, "select api.ctf_add_file(%s, 'x', 'elsewhere/x')", (ctf.challenge,))
    val(db, ctf.organiser, "select api.ctf_add_file(%s, 'task.zip', %s)", (ctf.challenge, path))
    db.execute(
        "insert into storage.objects (bucket_id, name, owner_id)"
        " values ('challenge-files', %s, %s)",
        (path, ctf.organiser.id),
    )
    see = "select count(*) as n from storage.objects where bucket_id = 'challenge-files'"
    assert q(db, ctf.player, see)[0]["n"] == 1
    assert q(db, ctf.outsider, see)[0]["n"] == 0
    assert q(db, ctf.other_organiser, see)[0]["n"] == 0
    assert q(db, ctf.player, "select count(*) as n from api.ctf_challenge_files")[0]["n"] == 1
    set_event(db, ctf.event, starts_at="now() + interval '1 hour'")
    assert q(db, ctf.player, see)[0]["n"] == 0
    assert q(db, ctf.organiser, see)[0]["n"] == 1


def test_export_and_data_provider(db, ctf):
    submit(db, ctf.player, ctf.challenge, "flag{one}")
    export = val(db, ctf.organiser, "select api.ctf_export_event(%s)", (ctf.event,))
    assert export["event"]["slug"] == "test-ctf"
    assert len(export["teams"]) == 2 and len(export["solves"]) == 1
    assert export["challenges"][0]["flags"] == [{"kind": "static", "label": None}]
    mine = val(db, ctf.player, "select api.accounts_export_my_data()")
    assert len(mine["ctf"]["solves"]) == 1 and mine["ctf"]["participations"][0]["team"] == "Alpha"
    # erasing a captain hands over the team; the solve stays with it
    db.execute("select private.erase_user(%s, 'test')", (ctf.player.id,))
    team = db.execute(
        "select captain_id::text as c from ctf.teams where id = %s", (ctf.team_a,)
    ).fetchone()
    assert team["c"] == ctf.teammate.id
    assert (
        db.execute(
            "select count(*) as n from ctf.solves where team_id = %s", (ctf.team_a,)
        ).fetchone()["n"]
        == 1
    )


def test_organiser_roles(db, ctf):
    newbie = grant_roles(db, create_user(db, username="co_org"))
    with api_error(db, "ctf_not_organiser", "PT403"):
        val(db, newbie, 'select api.ctf_save_challenge(%s, \'{"title": "x"}\')', (ctf.event,))
    val(db, ctf.organiser, "select api.ctf_set_organiser(%s, %s, true)", (ctf.event, newbie.id))
    make_challenge(db, newbie, ctf.event, {"title": "by co-organiser"})
