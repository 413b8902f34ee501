"""Attacks on the CTF rules, each one refused: ban evasion, team hopping, rejoining after a
kick, unlimited already-solved submissions, the freeze leaking through XP, teammates'
IP addresses."""

from __future__ import annotations

from ctfkit import make_challenge, make_team, q, set_event, submit, val

from flagship.testing.harness import api_error, create_user


def members(db, team):
    rows = db.execute(
        "select user_id::text as u from ctf.participants where team_id = %s", (team,)
    ).fetchall()
    return {r["u"] for r in rows}


def invite_of(db, team):
    return db.execute("select invite_code from ctf.teams where id = %s", (team,)).fetchone()[
        "invite_code"
    ]


def test_ban_follows_the_account_within_the_event(db, ctf):
    """A banned player kicked by the captain cannot start over in a new team (and score
    first blood there), join another team or register again."""
    val(
        db,
        ctf.organiser,
        "select api.ctf_ban_participant(%s, %s, true, 'cheating')",
        (ctf.event, ctf.teammate.id),
    )
    val(db, ctf.player, "select api.ctf_kick_member(%s, %s)", (ctf.team_a, ctf.teammate.id))
    with api_error(db, "ctf_banned", "PT403"):
        make_team(db, ctf.teammate, ctf.event, "Fresh start")
    with api_error(db, "ctf_banned", "PT403"):
        val(db, ctf.teammate, "select api.ctf_join_team(%s)", (invite_of(db, ctf.team_b),))
    with api_error(db, "ctf_not_registered", "PT403"):
        submit(db, ctf.teammate, ctf.challenge, "flag{one}")
    assert db.execute("select count(*) as n from ctf.solves").fetchone()["n"] == 0
    # the ban is lifted by the organiser, not by the kick: then the account may play again
    val(
        db,
        ctf.organiser,
        "select api.ctf_ban_participant(%s, %s, false, 'appeal')",
        (ctf.event, ctf.teammate.id),
    )
    make_team(db, ctf.teammate, ctf.event, "Fresh start")
    assert submit(db, ctf.teammate, ctf.challenge, "flag{one}")["first_blood"] is True


def test_ban_follows_the_account_in_individual_events(db, ctf):
    practice = str(db.execute("select id from ctf.events where slug = 'practice'").fetchone()["id"])
    val(db, ctf.outsider, "select api.ctf_register(%s)", (practice,))
    val(
        db,
        ctf.admin,
        "select api.ctf_ban_participant(%s, %s, true, 'x')",
        (practice, ctf.outsider.id),
    )
    db.execute(
        "delete from ctf.participants where event_id = %s and user_id = %s",
        (practice, ctf.outsider.id),
    )
    with api_error(db, "ctf_banned", "PT403"):
        val(db, ctf.outsider, "select api.ctf_register(%s)", (practice,))


def test_team_hopping_after_a_solve_is_refused(db, ctf):
    """One account solves for team B, leaves, joins team A and solves again: refused. Solves
    and attempts bind the account to its team for the rest of the event."""
    hopper = ctf.outsider
    val(db, hopper, "select api.ctf_join_team(%s)", (invite_of(db, ctf.team_b),))
    assert submit(db, hopper, ctf.challenge, "flag{one}")["status"] == "correct"
    with api_error(db, "ctf_membership_locked", "PT403"):
        val(db, hopper, "select api.ctf_leave_team(%s)", (ctf.event,))
    # kicked by a cooperating captain: still bound, cannot join or found another team
    val(db, ctf.other_player, "select api.ctf_kick_member(%s, %s)", (ctf.team_b, hopper.id))
    with api_error(db, "ctf_membership_locked", "PT403"):
        val(db, hopper, "select api.ctf_join_team(%s)", (ctf.invite_a,))
    with api_error(db, "ctf_membership_locked", "PT403"):
        make_team(db, hopper, ctf.event, "Hop")
    assert (
        db.execute(
            "select count(*) as n from ctf.solves where challenge_id = %s", (ctf.challenge,)
        ).fetchone()["n"]
        == 1
    )
    value = db.execute(
        "select value, solve_count from ctf.challenges where id = %s", (ctf.challenge,)
    ).fetchone()
    assert value["solve_count"] == 1
    xp = db.execute(
        "select count(*) as n from accounts.activity where actor_id = %s and verb = 'ctf.solve'",
        (hopper.id,),
    ).fetchone()["n"]
    assert xp == 1


def test_team_hopping_does_not_reset_attempt_counters(db, ctf):
    lock = make_challenge(
        db, ctf.organiser, ctf.event, {"title": "lock", "max_attempts": 2}, [("static", "l{1}")]
    )
    hopper = ctf.outsider
    val(db, hopper, "select api.ctf_join_team(%s)", (invite_of(db, ctf.team_b),))
    submit(db, hopper, lock, "a")
    submit(db, hopper, lock, "b")
    with api_error(db, "ctf_membership_locked", "PT403"):
        val(db, hopper, "select api.ctf_leave_team(%s)", (ctf.event,))
    with api_error(db, "ctf_attempts_exhausted", "PT403"):
        submit(db, hopper, lock, "l{1}")


def test_members_without_attempts_may_still_change_teams(db, ctf):
    val(db, ctf.outsider, "select api.ctf_join_team(%s)", (invite_of(db, ctf.team_b),))
    val(db, ctf.outsider, "select api.ctf_leave_team(%s)", (ctf.event,))
    val(db, ctf.outsider, "select api.ctf_join_team(%s)", (ctf.invite_a,))
    assert ctf.outsider.id in members(db, ctf.team_a)


def test_kicked_member_cannot_rejoin_with_the_same_code(db, ctf):
    val(db, ctf.player, "select api.ctf_kick_member(%s, %s)", (ctf.team_a, ctf.teammate.id))
    with api_error(db, "ctf_kicked", "PT403"):
        val(db, ctf.teammate, "select api.ctf_join_team(%s)", (ctf.invite_a,))
    assert ctf.teammate.id not in members(db, ctf.team_a)
    # the captain rotates the code: the old one stops working, the kick still holds
    with api_error(db, "ctf_not_captain", "PT403"):
        val(db, ctf.other_player, "select api.ctf_rotate_team_invite_code(%s)", (ctf.team_a,))
    new_code = val(db, ctf.player, "select api.ctf_rotate_team_invite_code(%s)", (ctf.team_a,))
    assert new_code != ctf.invite_a and new_code == invite_of(db, ctf.team_a)
    with api_error(db, "ctf_invite_invalid", "PT404"):
        val(db, ctf.outsider, "select api.ctf_join_team(%s)", (ctf.invite_a,))
    with api_error(db, "ctf_kicked", "PT403"):
        val(db, ctf.teammate, "select api.ctf_join_team(%s)", (new_code,))
    # an explicit re-invite by the captain lifts the kick
    with api_error(db, "ctf_not_captain", "PT403"):
        val(
            db,
            ctf.teammate,
            "select api.ctf_reinvite_member(%s, %s)",
            (ctf.team_a, ctf.teammate.id),
        )
    val(db, ctf.player, "select api.ctf_reinvite_member(%s, %s)", (ctf.team_a, ctf.teammate.id))
    val(db, ctf.teammate, "select api.ctf_join_team(%s)", (new_code,))
    assert ctf.teammate.id in members(db, ctf.team_a)


def test_already_solved_submissions_are_rate_limited(db, ctf):
    assert submit(db, ctf.player, ctf.challenge, "flag{one}")["status"] == "correct"
    before = db.execute("select count(*) as n from ctf.submissions").fetchone()["n"]
    for _ in range(10):  # the event's wrong_per_minute
        assert submit(db, ctf.player, ctf.challenge, "flag{one}")["status"] == "already_solved"
    for _ in range(5):
        with api_error(db, "rate_limited", "PT429"):
            submit(db, ctf.player, ctf.challenge, "flag{one}")
    after = db.execute("select count(*) as n from ctf.submissions").fetchone()["n"]
    assert after - before == 10


def test_frozen_results_do_not_leak_through_xp(db, ctf):
    second = make_challenge(
        db, ctf.organiser, ctf.event, {"title": "two", "initial": 200}, [("static", "flag{two}")]
    )
    db.execute(
        "select private.record_activity(%s, 'lesson.completed', 'lesson', 'l1', '{}', 7)",
        (ctf.player.id,),
    )
    sql = "select xp, activity_count from api.accounts_profile_stats where user_id = %s"
    seen = q(db, ctf.other_player, sql, (ctf.player.id,))[0]
    assert seen == {"xp": 7, "activity_count": 1}
    set_event(db, ctf.event, freeze_at="now() - interval '1 minute'")
    assert submit(db, ctf.player, ctf.challenge, "flag{one}")["status"] == "correct"
    assert submit(db, ctf.player, second, "flag{two}")["status"] == "correct"
    own = q(db, ctf.player, sql, (ctf.player.id,))[0]
    assert own == {"xp": 307, "activity_count": 3}
    for who in (ctf.other_player, ctf.outsider, ctf.admin):
        assert q(db, who, sql, (ctf.player.id,))[0] == seen
    # when the event ends the results are final and the XP shows
    set_event(db, ctf.event, ends_at="now() - interval '1 second'")
    assert q(db, ctf.other_player, sql, (ctf.player.id,))[0] == own


def test_unfreezing_shows_the_hidden_xp(db, ctf):
    set_event(db, ctf.event, freeze_at="now() - interval '1 minute'")
    submit(db, ctf.player, ctf.challenge, "flag{one}")
    sql = "select xp from api.accounts_profile_stats where user_id = %s"
    own = q(db, ctf.player, sql, (ctf.player.id,))[0]["xp"]
    assert q(db, ctf.other_player, sql, (ctf.player.id,))[0]["xp"] == own - 100
    val(db, ctf.organiser, "select api.ctf_update_event(%s, '{\"freeze_at\": null}')", (ctf.event,))
    assert q(db, ctf.other_player, sql, (ctf.player.id,))[0]["xp"] == own


def test_teammates_do_not_see_each_others_ip(db, ctf):
    submit(db, ctf.player, ctf.challenge, "wrong")
    sql = "select ip from api.ctf_submissions where user_id = %s"
    assert [r["ip"] for r in q(db, ctf.teammate, sql, (ctf.player.id,))] == [None]
    with api_error(db, None, "42501"):
        q(db, ctf.teammate, "select ip from ctf.submissions")
    # organisers of the event see it (abuse investigation), organisers of others do not
    assert [str(r["ip"]) for r in q(db, ctf.organiser, sql, (ctf.player.id,))] == ["203.0.113.7"]
    assert q(db, ctf.other_organiser, sql, (ctf.player.id,)) == []
    page = val(db, ctf.teammate, "select api.ctf_get_team_page(%s)", (ctf.team_a,))
    assert "203.0.113.7" not in str(page)


def test_new_players_in_a_kicked_members_place(db, ctf):
    """The kick list is per team and account: others join with the code as before."""
    val(db, ctf.player, "select api.ctf_kick_member(%s, %s)", (ctf.team_a, ctf.teammate.id))
    newcomer = create_user(db, username="newcomer")
    val(db, newcomer, "select api.ctf_join_team(%s)", (ctf.invite_a,))
    assert newcomer.id in members(db, ctf.team_a)


def test_a_team_without_captain_has_no_captain_rights(db, ctf):
    """captain_id null (the captain's account was removed): members gain no captain rights."""
    db.execute("update ctf.teams set captain_id = null where id = %s", (ctf.team_a,))
    with api_error(db, "ctf_not_captain", "PT403"):
        val(db, ctf.teammate, "select api.ctf_kick_member(%s, %s)", (ctf.team_a, ctf.player.id))
    with api_error(db, "ctf_not_captain", "PT403"):
        val(db, ctf.teammate, "select api.ctf_rename_team(%s, 'Mine')", (ctf.team_a,))
    with api_error(db, "ctf_not_captain", "PT403"):
        val(db, ctf.teammate, "select api.ctf_rotate_team_invite_code(%s)", (ctf.team_a,))
    assert members(db, ctf.team_a) == {ctf.player.id, ctf.teammate.id}
