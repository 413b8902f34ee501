"""The submit RPC: results, scoring, limits, refusals and abuse cases."""

from __future__ import annotations

import json

import pytest
from ctfkit import make_challenge, set_event, submit

from flagship.testing.harness import api_error, as_user, query, scalar


def counts(db, challenge):
    return db.execute(
        "select (select count(*) from ctf.submissions where challenge_id = %(c)s) as subs,"
        " (select count(*) from ctf.solves where challenge_id = %(c)s) as solves,"
        " (select count(*) from ctf.sharing_reports where challenge_id = %(c)s) as reports",
        {"c": challenge},
    ).fetchone()


def score(db, team):
    return db.execute("select score from ctf.standings where team_id = %s", (team,)).fetchone()[
        "score"
    ]


def no_mismatch(db, event):
    assert (
        db.execute("select private.ctf_standings_mismatches(%s) as m", (event,)).fetchone()["m"]
        == []
    )


def test_correct_incorrect_already_solved(db, ctf):
    r = submit(db, ctf.player, ctf.challenge, "flag{nope}")
    assert r["status"] == "incorrect" and r["correct"] is False
    r = submit(db, ctf.player, ctf.challenge, "flag{one}")
    assert r["status"] == "correct" and r["points"] == 100 and r["first_blood"] is True
    r = submit(db, ctf.teammate, ctf.challenge, "flag{one}")
    assert r["status"] == "already_solved"
    assert score(db, ctf.team_a) == 100
    subs = db.execute(
        "select result, user_id::text, team_id::text, host(ip) as ip from ctf.submissions"
        " where challenge_id = %s order by id",
        (ctf.challenge,),
    ).fetchall()
    assert [s["result"] for s in subs] == ["incorrect", "correct", "already_solved"]
    assert subs[1]["user_id"] == ctf.player.id and subs[1]["team_id"] == ctf.team_a
    assert subs[0]["ip"] == "203.0.113.7"
    # every solve: activity, ctf.solve and ctf.first_blood outbox events
    assert (
        db.execute(
            "select count(*) as n from accounts.activity"
            " where actor_id = %s and verb = 'ctf.solve'",
            (ctf.player.id,),
        ).fetchone()["n"]
        == 1
    )
    topics = [
        r["topic"]
        for r in db.execute(
            "select topic from ops.outbox where topic like 'ctf.%%' order by id"
        ).fetchall()
    ]
    assert topics == ["ctf.solve", "ctf.first_blood"]
    no_mismatch(db, ctf.event)


def test_flag_kinds(db, ctf):
    ci = make_challenge(
        db, ctf.organiser, ctf.event, {"title": "ci"}, [("static_ci", "Flag{MiXeD}")]
    )
    rx = make_challenge(
        db, ctf.organiser, ctf.event, {"title": "rx"}, [("regex", "flag\\{[0-9]{4}\\}")]
    )
    assert submit(db, ctf.player, ci, "FLAG{mixed}")["status"] == "correct"
    assert submit(db, ctf.player, rx, "flag{12345}")["status"] == "incorrect"
    assert submit(db, ctf.player, rx, "xflag{1234}")["status"] == "incorrect"  # anchored
    assert submit(db, ctf.player, rx, "flag{1234}")["status"] == "correct"


def test_flags_are_stored_as_digests_only(db, ctf):
    row = db.execute(
        "select digest, pattern, secret from ctf.flags where challenge_id = %s", (ctf.challenge,)
    ).fetchone()
    assert row["pattern"] is None and row["secret"] is None
    assert bytes(row["digest"]) != b"flag{one}" and len(bytes(row["digest"])) == 32
    dump = json.dumps(db.execute("select to_jsonb(f) as j from ctf.flags f").fetchall())
    assert "flag{one}" not in dump


def test_team_flags_and_sharing(db, ctf):
    cid = make_challenge(
        db, ctf.organiser, ctf.event, {"title": "per team"}, [("team", "flag{%s}")]
    )
    flag_a = scalar(db, ctf.organiser, "select api.ctf_list_team_flags(%s, %s)", (cid, ctf.team_a))[
        0
    ]["flag"]
    flag_b = scalar(db, ctf.organiser, "select api.ctf_list_team_flags(%s, %s)", (cid, ctf.team_b))[
        0
    ]["flag"]
    assert flag_a != flag_b and flag_a.startswith("flag{") and len(flag_a) == 38
    # team B submits team A's flag: refused and reported
    r = submit(db, ctf.other_player, cid, flag_a)
    assert r["status"] == "shared_flag" and r["code"] == "ctf_flag_shared"
    c = counts(db, cid)
    assert (c["subs"], c["solves"], c["reports"]) == (1, 0, 1)
    report = query(db, ctf.organiser, "select * from api.ctf_sharing_reports")[0]
    assert str(report["owner_team_id"]) == ctf.team_a
    assert str(report["submitter_team_id"]) == ctf.team_b
    assert query(db, ctf.other_player, "select * from api.ctf_sharing_reports") == []
    assert submit(db, ctf.other_player, cid, flag_b)["status"] == "correct"
    assert submit(db, ctf.player, cid, flag_a)["status"] == "correct"


def test_all_flags_partial_progress(db, ctf):
    cid = make_challenge(
        db,
        ctf.organiser,
        ctf.event,
        {"title": "multi", "flag_logic": "all"},
        [("static", "part{1}"), ("static", "part{2}")],
    )
    r = submit(db, ctf.player, cid, "part{1}")
    assert r["status"] == "partial" and (r["flags_found"], r["flags_total"]) == (1, 2)
    assert submit(db, ctf.teammate, cid, "part{1}")["status"] == "partial"
    assert query(db, ctf.teammate, "select count(*) as n from ctf.flag_progress")[0]["n"] == 1
    assert submit(db, ctf.teammate, cid, "part{2}")["status"] == "correct"


def test_dynamic_value_reapplied_to_every_solver(db, ctf):
    cid = make_challenge(
        db,
        ctf.organiser,
        ctf.event,
        {
            "title": "dyn",
            "scoring": "linear",
            "initial": 500,
            "minimum": 100,
            "decay": 50,
            "first_blood_bonus": [1.1],
        },
        [("static", "dyn{1}")],
    )
    assert submit(db, ctf.player, cid, "dyn{1}")["points"] == 550  # 500 * 1.1
    r = submit(db, ctf.other_player, cid, "dyn{1}")
    assert r["value"] == 450 and r["points"] == 450
    # team A's first blood is re-valued: 450 * 1.1 = 495
    assert score(db, ctf.team_a) == 495 and score(db, ctf.team_b) == 450
    no_mismatch(db, ctf.event)
    # editing the challenge recomputes every solver (CTFd leaves values stale)
    scalar(
        db,
        ctf.organiser,
        "select api.ctf_save_challenge(%s, %s::jsonb, %s)",
        (ctf.event, json.dumps({"decay": 100}), cid),
    )
    assert score(db, ctf.team_b) == 400 and score(db, ctf.team_a) == 440
    no_mismatch(db, ctf.event)
    # banning team B: its solve no longer counts, value back to 500 for team A
    scalar(
        db, ctf.organiser, "select api.ctf_moderate_team(%s, true, null, 'cheating')", (ctf.team_b,)
    )
    assert score(db, ctf.team_a) == 550
    assert scalar(db, "anon", "select count(*) from api.ctf_get_scoreboard(%s)", (ctf.event,)) == 1
    scalar(
        db, ctf.organiser, "select api.ctf_moderate_team(%s, false, null, 'appeal')", (ctf.team_b,)
    )
    assert score(db, ctf.team_a) == 440
    # deleting a solve: value goes back up
    solve = db.execute(
        "select id from ctf.solves where challenge_id = %s and team_id = %s", (cid, ctf.team_b)
    ).fetchone()["id"]
    scalar(db, ctf.organiser, "select api.ctf_delete_solve(%s, 'invalid')", (solve,))
    assert score(db, ctf.team_a) == 550 and score(db, ctf.team_b) == 0
    no_mismatch(db, ctf.event)


def test_rate_limit_without_scans(db, ctf):
    for _ in range(10):
        assert submit(db, ctf.player, ctf.challenge, "wrong")["status"] == "incorrect"
    with api_error(db, "rate_limited", "PT429"):
        submit(db, ctf.player, ctf.challenge, "flag{one}")
    # the limit is per account: a teammate may still submit
    assert submit(db, ctf.teammate, ctf.challenge, "flag{one}")["status"] == "correct"
    # the window passes (move the counter back in time, never sleep)
    db.execute("update ctf.user_attempts set window_start = now() - interval '2 minutes'")
    assert submit(db, ctf.player, ctf.challenge, "flag{one}")["status"] == "already_solved"


def test_max_attempts_lockout_and_window(db, ctf):
    lock = make_challenge(
        db, ctf.organiser, ctf.event, {"title": "lock", "max_attempts": 2}, [("static", "l{1}")]
    )
    assert submit(db, ctf.player, lock, "x")["attempts_left"] == 1
    assert submit(db, ctf.teammate, lock, "y")["attempts_left"] == 0
    with api_error(db, "ctf_attempts_exhausted", "PT403"):
        submit(db, ctf.player, lock, "l{1}")
    win = make_challenge(
        db,
        ctf.organiser,
        ctf.event,
        {"title": "win", "max_attempts": 1, "attempt_window": "5 minutes"},
        [("static", "w{1}")],
    )
    submit(db, ctf.player, win, "x")
    with api_error(db, "rate_limited", "PT429"):
        submit(db, ctf.player, win, "w{1}")
    db.execute(
        "update ctf.team_attempts set window_start = now() - interval '6 minutes'"
        " where challenge_id = %s",
        (win,),
    )
    assert submit(db, ctf.player, win, "w{1}")["status"] == "correct"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"starts_at": "now() + interval '1 hour'"}, "ctf_event_not_started"),
        ({"ends_at": "now() - interval '1 minute'"}, "ctf_event_ended"),
        ({"paused": "true"}, "ctf_event_paused"),
    ],
)
def test_refused_outside_the_event(db, ctf, change, code):
    if "ends_at" in change:
        set_event(db, ctf.event, freeze_at="null")
    set_event(db, ctf.event, **change)
    before = counts(db, ctf.challenge)
    with api_error(db, code, "PT403"):
        submit(db, ctf.player, ctf.challenge, "flag{one}")
    assert counts(db, ctf.challenge) == before


def test_refused_challenges(db, ctf):
    hidden = make_challenge(db, ctf.organiser, ctf.event, {"title": "h", "state": "hidden"})
    locked = make_challenge(db, ctf.organiser, ctf.event, {"title": "l", "state": "locked"})
    later = make_challenge(
        db, ctf.organiser, ctf.event, {"title": "later", "release_at": "2999-01-01T00:00:00Z"}
    )
    needs = make_challenge(
        db, ctf.organiser, ctf.event, {"title": "needs", "prerequisites": [ctf.challenge]}
    )
    with api_error(db, "ctf_challenge_not_found", "PT404"):
        submit(db, ctf.player, hidden, "flag{x}")
    with api_error(db, "ctf_challenge_locked", "PT403"):
        submit(db, ctf.player, locked, "flag{x}")
    with api_error(db, "ctf_challenge_locked", "PT403"):
        submit(db, ctf.player, later, "flag{x}")
    with api_error(db, "ctf_prerequisites_unmet", "PT403"):
        submit(db, ctf.player, needs, "flag{x}")
    # the locked one is listed anonymised, without content
    row = query(db, ctf.player, "select * from api.ctf_challenges where id = %s", (needs,))[0]
    assert row["locked"] and row["title"] is None and row["description"] is None
    submit(db, ctf.player, ctf.challenge, "flag{one}")
    assert submit(db, ctf.player, needs, "flag{x}")["status"] == "correct"
    row = query(db, ctf.player, "select * from api.ctf_challenges where id = %s", (needs,))[0]
    assert not row["locked"] and row["title"] == "needs" and row["solved"]
    assert counts(db, hidden)["subs"] == 0 and counts(db, locked)["subs"] == 0


def test_abuse_cases(db, ctf):
    before = counts(db, ctf.challenge)
    # for another team
    with api_error(db, "ctf_not_team_member", "PT403"):
        scalar(
            db,
            ctf.player,
            "select api.ctf_submit(%s, 'flag{one}', %s)",
            (ctf.challenge, ctf.team_b),
        )
    # 100 KB flag
    with api_error(db, "ctf_flag_too_long", "22023"):
        submit(db, ctf.player, ctf.challenge, "A" * 100_000)
    # not registered / anonymous
    with api_error(db, "ctf_not_registered", "PT403"):
        submit(db, ctf.outsider, ctf.challenge, "flag{one}")
    with api_error(db, None, "42501"):
        submit(db, "anon", ctf.challenge, "flag{one}")
    # banned account; its team-mate may still play
    scalar(
        db,
        ctf.organiser,
        "select api.ctf_ban_participant(%s, %s, true, 'abuse')",
        (ctf.event, ctf.player.id),
    )
    with api_error(db, "ctf_banned", "PT403"):
        submit(db, ctf.player, ctf.challenge, "flag{one}")
    assert counts(db, ctf.challenge) == before
    # direct writes are impossible for every client role
    for who in (ctf.player, ctf.organiser, "anon"):
        with api_error(db, None, "42501"), as_user(db, who):
            db.execute(
                "insert into ctf.solves (event_id, challenge_id, team_id) values (%s, %s, %s)",
                (ctf.event, ctf.challenge, ctf.team_a),
            )


def test_regex_bombs(db, ctf):
    rx = make_challenge(db, ctf.organiser, ctf.event, {"title": "rx"}, [("regex", "a+b")])
    for pattern in ["(a+)+$", "(a|aa)*b\\1", "(?=a)a", "([a-z]*)*x", "x" * 201, "("]:
        with api_error(db, "ctf_regex_unsafe", "22023"):
            scalar(db, ctf.organiser, "select api.ctf_add_flag(%s, 'regex', %s)", (rx, pattern))
    # input is bounded before the regex sees it
    with api_error(db, "ctf_flag_too_long", "22023"):
        submit(db, ctf.player, rx, "a" * 5000 + "!")
    assert submit(db, ctf.player, rx, "a" * 500 + "!")["status"] == "incorrect"
    assert submit(db, ctf.player, rx, "aaab")["status"] == "correct"


def test_flags_never_readable(db, ctf):
    for who in ("anon", ctf.player, ctf.organiser, ctf.admin, "service_role"):
        with api_error(db, None, "42501"):
            query(db, who, "select * from ctf.flags")
    flags = scalar(db, ctf.organiser, "select api.ctf_list_flags(%s)", (ctf.challenge,))
    assert set(flags[0]) == {"id", "kind", "label", "pattern", "template"}
    with api_error(db, "ctf_not_organiser", "PT403"):
        scalar(db, ctf.player, "select api.ctf_list_flags(%s)", (ctf.challenge,))
    with api_error(db, "ctf_not_organiser", "PT403"):
        scalar(
            db,
            ctf.other_organiser,
            "select api.ctf_list_team_flags(%s, %s)",
            (ctf.challenge, ctf.team_a),
        )
    export = json.dumps(scalar(db, ctf.organiser, "select api.ctf_export_event(%s)", (ctf.event,)))
    assert "flag{one}" not in export and "invite_code" not in export and "digest" not in export


def team_counter(db, challenge, team):
    return db.execute(
        "select wrong_total, wrong_in_window from ctf.team_attempts"
        " where challenge_id = %s and team_id = %s",
        (challenge, team),
    ).fetchone()


def save_challenge(db, ctf, challenge, fields):
    scalar(
        db,
        ctf.organiser,
        "select api.ctf_save_challenge(%s, %s::jsonb, %s)",
        (ctf.event, json.dumps(fields), challenge),
    )


def test_no_team_counter_on_a_challenge_without_a_limit(db, ctf):
    out = submit(db, ctf.player, ctf.challenge, "wrong")
    assert out["status"] == "incorrect" and out["attempts_left"] is None
    assert team_counter(db, ctf.challenge, ctf.team_a) is None
    assert counts(db, ctf.challenge)["subs"] == 1  # the submission is the record


def test_a_limit_set_mid_event_counts_the_earlier_wrong_flags(db, ctf):
    for who, flag in [(ctf.player, "a"), (ctf.teammate, "b"), (ctf.player, "c")]:
        assert submit(db, who, ctf.challenge, flag)["status"] == "incorrect"
    assert submit(db, ctf.other_player, ctf.challenge, "d")["status"] == "incorrect"
    save_challenge(db, ctf, ctf.challenge, {"max_attempts": 4})
    assert team_counter(db, ctf.challenge, ctf.team_a) == {"wrong_total": 3, "wrong_in_window": 3}
    assert submit(db, ctf.teammate, ctf.challenge, "e")["attempts_left"] == 0
    with api_error(db, "ctf_attempts_exhausted", "PT403"):
        submit(db, ctf.player, ctf.challenge, "flag{one}")
    # the other team had one wrong flag: three left
    assert submit(db, ctf.other_player, ctf.challenge, "f")["attempts_left"] == 2


def test_a_windowed_limit_set_mid_event_counts_the_current_window(db, ctf):
    for flag in ("a", "b"):
        submit(db, ctf.player, ctf.challenge, flag)
    db.execute(
        "update ctf.submissions set submitted_at = now() - interval '10 minutes'"
        " where challenge_id = %s and result = 'incorrect' and id = ("
        "  select min(id) from ctf.submissions where challenge_id = %s)",
        (ctf.challenge, ctf.challenge),
    )
    save_challenge(db, ctf, ctf.challenge, {"max_attempts": 2, "attempt_window": "5 minutes"})
    assert team_counter(db, ctf.challenge, ctf.team_a) == {"wrong_total": 2, "wrong_in_window": 1}
    assert submit(db, ctf.teammate, ctf.challenge, "c")["attempts_left"] == 0
    with api_error(db, "rate_limited", "PT429"):
        submit(db, ctf.player, ctf.challenge, "flag{one}")
