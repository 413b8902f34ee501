"""RLS matrix for every CTF object: role × object × select/insert/update/delete/execute.

Roles: anon, player (captain of team A), teammate (team A), other (player of team B),
organiser (of the event), other_org (organiser of another event), admin, service_role.
Outcomes: "yes" (team A's / the event's rows visible, or the call worked), "no" (allowed to
ask, nothing visible or changed), "deny" (42501: no privilege or a policy refusal), or an API
error code.
"""

from __future__ import annotations

from functools import partial

import pytest
from ctfkit import build_scene, make_challenge, submit

from flagship.testing.harness import as_user, scalar
from flagship.testing.matrix import REFUSED_OR_READONLY, Matrix

ROLES = ["anon", "player", "teammate", "other", "organiser", "other_org", "admin", "service_role"]
# 42501 refusals without an API code count as "deny"; a write may also meet a read-only view
M = Matrix(["ctf"], ROLES, write_refused=REFUSED_OR_READONLY)
ALL = M.same("yes")
DENY = M.same("deny")
# team A's private things: own team, organisers of the event and admins (+ service_role)
TEAM = M.cells(
    anon="deny",
    player="yes",
    teammate="yes",
    other="no",
    organiser="yes",
    other_org="no",
    admin="yes",
    service_role="yes",
)
TEAM_ANON_NO = M.cells(
    anon="no",
    player="yes",
    teammate="yes",
    other="no",
    organiser="yes",
    other_org="no",
    admin="yes",
    service_role="yes",
)
ORGS = M.cells(
    anon="deny",
    player="no",
    teammate="no",
    other="no",
    organiser="yes",
    other_org="no",
    admin="yes",
    service_role="yes",
)
# organiser RPCs
ORG_RPC = M.cells(
    anon="deny",
    player="ctf_not_organiser",
    teammate="ctf_not_organiser",
    other="ctf_not_organiser",
    organiser="yes",
    other_org="ctf_not_organiser",
    admin="yes",
    service_role="deny",
)

M.select("ctf.events", "id = %(event)s", ALL)
M.select("ctf.brackets", "event_id = %(event)s", ALL)
M.select("ctf.organisers", "event_id = %(event)s", ALL)
M.select("ctf.teams", "id = %(team_a)s", M.same("yes"))
M.select("ctf.participants", "team_id = %(team_a)s", ALL)
M.select("ctf.challenges", "id = %(challenge)s", ALL)
M.select(
    "ctf.challenge_contents",
    "challenge_id = %(challenge)s",
    M.cells(
        anon="no",
        player="yes",
        teammate="yes",
        other="yes",
        organiser="yes",
        other_org="no",
        admin="yes",
        service_role="yes",
    ),
)
M.select("ctf.challenge_writeups", "challenge_id = %(challenge)s", TEAM_ANON_NO)
M.select("ctf.challenge_prerequisites", "challenge_id = %(needs)s", ALL)
M.select(
    "ctf.challenge_files",
    "challenge_id = %(challenge)s",
    M.cells(
        anon="deny",
        player="yes",
        teammate="yes",
        other="yes",
        organiser="yes",
        other_org="no",
        admin="yes",
        service_role="yes",
    ),
)
M.select("ctf.flags", "true", DENY)
M.select("ctf.hints", "id = %(hint)s", ALL)
M.select("ctf.hint_contents", "hint_id = %(hint)s", TEAM_ANON_NO)
M.select("ctf.hint_unlocks", "team_id = %(team_a)s", TEAM)
M.select("ctf.solves", "team_id = %(team_a)s", ALL)
M.select("ctf.submissions", "team_id = %(team_a)s", TEAM)
M.select("ctf.flag_progress", "team_id = %(team_a)s", TEAM)
M.select("ctf.sharing_reports", "event_id = %(event)s", ORGS)
M.select("ctf.awards", "team_id = %(team_a)s", ALL)
M.select(
    "ctf.feedback",
    "user_id = %(player)s",
    M.cells(
        anon="deny",
        player="yes",
        teammate="no",
        other="no",
        organiser="yes",
        other_org="no",
        admin="yes",
        service_role="yes",
    ),
)
M.select("ctf.account_bans", "true", M.same("deny") | {"service_role": "yes"})
M.select("ctf.team_kicks", "true", M.same("deny") | {"service_role": "yes"})
M.select(
    "ctf.user_attempts",
    "true",
    M.cells(
        anon="deny",
        player="deny",
        teammate="deny",
        other="deny",
        organiser="deny",
        other_org="deny",
        admin="deny",
        service_role="yes",
    ),
)
M.select(
    "ctf.team_attempts",
    "true",
    M.cells(
        anon="deny",
        player="deny",
        teammate="deny",
        other="deny",
        organiser="deny",
        other_org="deny",
        admin="deny",
        service_role="yes",
    ),
)
M.select("ctf.standings", "team_id = %(team_a)s", ALL)
M.select("ctf.standings_stored", "team_id = %(team_a)s", ALL)
M.select("ctf.standings_frozen", "team_id = %(team_a)s", ALL)
M.select("ctf.scoreboards", "true", M.same("deny"))
M.select("ctf.scoreboard_changes", "true", M.same("deny"))
M.select("api.ctf_events", "id = %(event)s", ALL)
M.select("api.ctf_brackets", "event_id = %(event)s", ALL)
M.select("api.ctf_organisers", "event_id = %(event)s", ALL)
M.select("api.ctf_teams", "id = %(team_a)s", ALL)
M.select("api.ctf_team_members", "team_id = %(team_a)s", ALL)
M.select("api.ctf_challenges", "id = %(challenge)s", ALL)
M.select(
    "api.ctf_challenges",
    "id = %(challenge)s and description is not null",
    M.cells(
        anon="no",
        player="yes",
        teammate="yes",
        other="yes",
        organiser="yes",
        other_org="no",
        admin="yes",
        service_role="yes",
    ),
    label="content",
)
M.select(
    "api.ctf_challenge_files",
    "challenge_id = %(challenge)s",
    M.cells(
        anon="deny",
        player="yes",
        teammate="yes",
        other="yes",
        organiser="yes",
        other_org="no",
        admin="yes",
        service_role="yes",
    ),
)
M.select("api.ctf_hints", "id = %(hint)s", ALL)
M.select("api.ctf_hints", "id = %(hint)s and content is not null", TEAM_ANON_NO, label="content")
M.select("api.ctf_submissions", "team_id = %(team_a)s", TEAM)
M.select("api.ctf_solves", "team_id = %(team_a)s", ALL)
M.select("api.ctf_awards", "team_id = %(team_a)s", ALL)
M.select("api.ctf_challenge_stats", "challenge_id = %(challenge)s", ALL)
M.select(
    "api.ctf_feedback_summary",
    "challenge_id = %(challenge)s",
    M.cells(
        anon="deny",
        player="yes",
        teammate="no",
        other="no",
        organiser="yes",
        other_org="no",
        admin="yes",
        service_role="yes",
    ),
)
M.select("api.ctf_sharing_reports", "event_id = %(event)s", ORGS)

TABLES = [o for o in M.objects("select") if o.startswith("ctf.")]
VIEWS_WRITABLE = ["api.ctf_events", "api.ctf_teams", "api.ctf_challenges", "api.ctf_hints"]


def write_sql(db, obj: str, action: str) -> str:
    if action == "insert":
        return f"insert into {obj} default values"
    if action == "update":
        col = db.execute(
            "select attname from pg_attribute where attrelid = %s::regclass and attnum = 2",
            (obj,),
        ).fetchone()["attname"]
        return f"update {obj} set {col} = {col}"
    return f"delete from {obj}"


for _obj in TABLES + VIEWS_WRITABLE:
    for _action in ("insert", "update", "delete"):
        M.write(_obj, _action, partial(write_sql, obj=_obj, action=_action))


M.execute(
    "api.ctf_create_event",
    'select api.ctf_create_event(\'{"slug": "m-x", "title": "M"}\')',
    M.cells(
        anon="deny",
        player="forbidden",
        teammate="forbidden",
        other="forbidden",
        organiser="yes",
        other_org="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_update_event",
    'select api.ctf_update_event(%(event)s, \'{"description": "x"}\')',
    ORG_RPC,
)
M.execute("api.ctf_create_bracket", "select api.ctf_create_bracket(%(event)s, 'pro')", ORG_RPC)
M.execute(
    "api.ctf_set_organiser", "select api.ctf_set_organiser(%(event)s, %(player)s, true)", ORG_RPC
)
M.execute(
    "api.ctf_save_challenge",
    'select api.ctf_save_challenge(%(event)s, \'{"title": "m"}\')',
    ORG_RPC,
)
M.execute("api.ctf_add_flag", "select api.ctf_add_flag(%(challenge)s, 'static', 'x')", ORG_RPC)
M.execute("api.ctf_remove_flag", "select api.ctf_remove_flag(%(flag)s)", ORG_RPC)
M.execute("api.ctf_list_flags", "select api.ctf_list_flags(%(challenge)s)", ORG_RPC)
M.execute(
    "api.ctf_list_team_flags", "select api.ctf_list_team_flags(%(challenge)s, %(team_a)s)", ORG_RPC
)
M.execute("api.ctf_add_hint", "select api.ctf_add_hint(%(challenge)s, 'more')", ORG_RPC)
M.execute("api.ctf_add_file", "select api.ctf_add_file(%(challenge)s, 'b.bin', %(path)s)", ORG_RPC)
M.execute(
    "api.ctf_register",
    "select api.ctf_register(%(practice)s)",
    M.cells(
        anon="deny",
        player="yes",
        teammate="yes",
        other="yes",
        organiser="yes",
        other_org="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_create_team",
    "select api.ctf_create_team(%(event)s, 'Newcomers')",
    M.cells(
        anon="deny",
        player="ctf_already_registered",
        teammate="ctf_already_registered",
        other="ctf_already_registered",
        organiser="yes",
        other_org="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_join_team",
    "select api.ctf_join_team(%(invite)s)",
    M.cells(
        anon="deny",
        player="ctf_already_registered",
        teammate="ctf_already_registered",
        other="ctf_already_registered",
        organiser="yes",
        other_org="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_get_team_invite_code",
    "select api.ctf_get_team_invite_code(%(team_a)s)",
    M.cells(
        anon="deny",
        player="yes",
        teammate="yes",
        other="ctf_not_team_member",
        organiser="yes",
        other_org="ctf_not_team_member",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_leave_team",
    "select api.ctf_leave_team(%(event)s)",
    M.cells(
        anon="deny",
        player="ctf_captain_must_transfer",
        teammate="yes",
        other="ctf_membership_locked",
        organiser="ctf_not_registered",
        other_org="ctf_not_registered",
        admin="ctf_not_registered",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_kick_member",
    "select api.ctf_kick_member(%(team_a)s, %(teammate)s)",
    M.cells(
        anon="deny",
        player="yes",
        teammate="ctf_not_captain",
        other="ctf_not_captain",
        organiser="yes",
        other_org="ctf_not_captain",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_reinvite_member",
    "select api.ctf_reinvite_member(%(team_a)s, %(teammate)s)",
    M.cells(
        anon="deny",
        player="yes",
        teammate="ctf_not_captain",
        other="ctf_not_captain",
        organiser="yes",
        other_org="ctf_not_captain",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_rotate_team_invite_code",
    "select api.ctf_rotate_team_invite_code(%(team_a)s)",
    M.same("ctf_not_captain") | {"anon": "deny", "player": "yes", "service_role": "deny"},
)
M.execute(
    "api.ctf_transfer_captaincy",
    "select api.ctf_transfer_captaincy(%(team_a)s, %(teammate)s)",
    M.cells(
        anon="deny",
        player="yes",
        teammate="ctf_not_captain",
        other="ctf_not_captain",
        organiser="ctf_not_captain",
        other_org="ctf_not_captain",
        admin="ctf_not_captain",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_rename_team",
    "select api.ctf_rename_team(%(team_a)s, 'Renamed')",
    M.cells(
        anon="deny",
        player="yes",
        teammate="ctf_not_captain",
        other="ctf_not_captain",
        organiser="yes",
        other_org="ctf_not_captain",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_moderate_team", "select api.ctf_moderate_team(%(team_b)s, true, null, 'x')", ORG_RPC
)
M.execute(
    "api.ctf_ban_participant",
    "select api.ctf_ban_participant(%(event)s, %(teammate)s, true, 'x')",
    ORG_RPC,
)
M.execute(
    "api.ctf_submit",
    "select api.ctf_submit(%(second)s, 'flag{two}')",
    M.cells(
        anon="deny",
        player="yes",
        teammate="yes",
        other="yes",
        organiser="ctf_not_registered",
        other_org="ctf_not_registered",
        admin="ctf_not_registered",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_unlock_hint",
    "select api.ctf_unlock_hint(%(hint2)s)",
    M.cells(
        anon="deny",
        player="yes",
        teammate="yes",
        other="yes",
        organiser="ctf_not_registered",
        other_org="ctf_not_registered",
        admin="ctf_not_registered",
        service_role="deny",
    ),
)
M.execute(
    "api.ctf_grant_award", "select api.ctf_grant_award(%(event)s, %(team_a)s, 5, 'x')", ORG_RPC
)
M.execute("api.ctf_remove_award", "select api.ctf_remove_award(%(award)s, 'x')", ORG_RPC)
M.execute("api.ctf_delete_solve", "select api.ctf_delete_solve(%(solve)s, 'x')", ORG_RPC)
M.execute("api.ctf_recompute_standings", "select api.ctf_recompute_standings(%(event)s)", ORG_RPC)
M.execute(
    "api.ctf_give_feedback",
    "select api.ctf_give_feedback(%(challenge)s, 4)",
    M.cells(
        anon="deny",
        player="yes",
        teammate="yes",
        other="ctf_feedback_not_allowed",
        organiser="ctf_not_registered",
        other_org="ctf_not_registered",
        admin="ctf_not_registered",
        service_role="deny",
    ),
)
M.execute("api.ctf_export_event", "select api.ctf_export_event(%(event)s)", ORG_RPC)
M.execute("api.ctf_get_scoreboard", "select * from api.ctf_get_scoreboard(%(event)s)", ALL)
M.execute(
    "api.ctf_get_scoreboard_document", "select api.ctf_get_scoreboard_document(%(event)s)", ALL
)
M.execute("api.ctf_list_challenges", "select * from api.ctf_list_challenges(%(event)s)", ALL)
M.execute("api.ctf_get_team_page", "select api.ctf_get_team_page(%(team_a)s)", ALL)
M.execute("api.ctf_get_score_graph", "select api.ctf_get_score_graph(%(event)s)", ALL)
M.execute("api.ctf_get_ctftime_feed", "select api.ctf_get_ctftime_feed(%(event)s)", ALL)
M.execute("private.ctf_recompute_event", "select private.ctf_recompute_event(%(event)s)", DENY)
M.execute(
    "private.ctf_standings_mismatches", "select private.ctf_standings_mismatches(%(event)s)", DENY
)
M.execute("private.ctf_freeze_guard", "select private.ctf_freeze_guard(%(event)s)", DENY)
M.execute(
    "private.ctf_apply_award", "select private.ctf_apply_award(%(event)s, %(team_a)s, 1000)", DENY
)
M.execute(
    "private.ctf_team_flag_text",
    "select private.ctf_team_flag_text('\\x00', '%%s', %(team_a)s)",
    DENY,
)
M.execute(
    "private.ctf_recompute_team", "select private.ctf_recompute_team(%(event)s, %(team_a)s)", DENY
)
M.execute("private.ctf_export_user", "select private.ctf_export_user(%(player)s)", DENY)
M.execute("private.ctf_erase_user", "select private.ctf_erase_user(%(player)s)", DENY)


@pytest.fixture(scope="module")
def scene(module_db):
    """Team A has something in every CTF object. Built once per module; every cell runs in a
    savepoint that is rolled back."""
    return (module_db, *fill(module_db, build_scene(module_db)))


def fill(db, ctf):
    o = ctf.organiser
    ids = {
        "event": ctf.event,
        "team_a": ctf.team_a,
        "team_b": ctf.team_b,
        "challenge": ctf.challenge,
        "player": ctf.player.id,
        "teammate": ctf.teammate.id,
        "invite": ctf.invite_a,
    }
    ids["practice"] = str(
        db.execute("select id from ctf.events where slug = 'practice'").fetchone()["id"]
    )
    scalar(
        db,
        o,
        "select api.ctf_save_challenge(%s, %s::jsonb, %s)",
        (ctf.event, '{"writeup": "how", "writeup_visibility": "after_solve"}', ctf.challenge),
    )
    ids["second"] = make_challenge(db, o, ctf.event, {"title": "second"}, [("static", "flag{two}")])
    ids["needs"] = make_challenge(
        db, o, ctf.event, {"title": "needs", "prerequisites": [ctf.challenge]}
    )
    multi = make_challenge(
        db,
        o,
        ctf.event,
        {"title": "multi", "flag_logic": "all"},
        [("static", "m{1}"), ("static", "m{2}")],
    )
    shared = make_challenge(db, o, ctf.event, {"title": "shared"}, [("team", "t{%s}")])
    ids["flag"] = str(
        db.execute("select id from ctf.flags where challenge_id = %s", (ctf.challenge,)).fetchone()[
            "id"
        ]
    )
    ids["hint"] = scalar(db, o, "select api.ctf_add_hint(%s, 'hint text')", (ctf.challenge,))
    ids["hint2"] = scalar(db, o, "select api.ctf_add_hint(%s, 'hint two')", (ids["second"],))
    ids["path"] = f"{ctf.event}/{ctf.challenge}/a.bin"
    scalar(db, o, "select api.ctf_add_file(%s, 'a.bin', %s)", (ctf.challenge, ids["path"]))
    submit(db, ctf.player, ctf.challenge, "wrong")
    submit(db, ctf.player, ctf.challenge, "flag{one}")
    # team counters exist only on challenges with an attempt limit
    limited = make_challenge(db, o, ctf.event, {"title": "limited", "max_attempts": 5})
    submit(db, ctf.player, limited, "wrong")
    submit(db, ctf.player, multi, "m{1}")
    scalar(db, ctf.player, "select api.ctf_unlock_hint(%s)", (ids["hint"],))
    scalar(db, ctf.player, "select api.ctf_give_feedback(%s, 5, 'nice')", (ctf.challenge,))
    ids["award"] = scalar(
        db, o, "select api.ctf_grant_award(%s, %s, 10, 'x')", (ctf.event, ctf.team_a)
    )
    flag_a = scalar(db, o, "select api.ctf_list_team_flags(%s, %s)", (shared, ctf.team_a))[0][
        "flag"
    ]
    submit(db, ctf.other_player, shared, flag_a)
    ids["solve"] = db.execute(
        "select id from ctf.solves where team_id = %s", (ctf.team_a,)
    ).fetchone()["id"]
    # a ban and a kick (of an account outside the matrix roles)
    db.execute(
        "insert into ctf.account_bans (event_id, user_id) values (%s, %s)",
        (ctf.event, ctf.outsider.id),
    )
    db.execute(
        "insert into ctf.team_kicks (team_id, user_id) values (%s, %s)",
        (ctf.team_b, ctf.outsider.id),
    )
    # a frozen snapshot, to test ctf.standings_frozen
    db.execute(
        "insert into ctf.standings_frozen select event_id, team_id, bracket_id, ranked,"
        " score, solve_count, last_score_at from ctf.standings where event_id = %s",
        (ctf.event,),
    )
    db.execute("update ctf.events set frozen_snapshot_at = now() where id = %s", (ctf.event,))
    people = {
        "player": ctf.player,
        "teammate": ctf.teammate,
        "other": ctf.other_player,
        "organiser": ctf.organiser,
        "other_org": ctf.other_organiser,
        "admin": ctf.admin,
    }
    return ids, people


def who(people, role):
    return role if role in ("anon", "service_role") else people[role]


@M.parametrize("select")
def test_select(scene, cell):
    db, ids, people = scene
    cell.check(db, who(people, cell.role), ids)


@M.parametrize("write")
def test_write(scene, cell):
    db, ids, people = scene
    cell.check(db, who(people, cell.role), ids)


@M.parametrize("execute")
def test_execute(scene, cell):
    db, ids, people = scene
    cell.check(db, who(people, cell.role), ids)


def test_matrix_covers_every_ctf_object(db):
    assert M.uncovered(db) == []


@pytest.mark.parametrize("role", ROLES)
def test_challenge_list_matches_view(scene, role):
    """The fast definer list applies exactly the rules the view gets from the policies."""
    db, ids, people = scene
    cols = "id, title, category, locked, value, solve_count, description, connection_info, solved"
    with as_user(db, who(people, role)):
        view = db.execute(
            f"select {cols} from api.ctf_challenges where event_id = %(event)s order by id", ids
        ).fetchall()
        fast = db.execute(
            f"select {cols} from api.ctf_list_challenges(%(event)s) order by id", ids
        ).fetchall()
    assert fast == view and len(view) >= 4


@pytest.mark.parametrize("visibility", ["public", "members", "private"])
@pytest.mark.parametrize("role", [r for r in ROLES if r != "service_role"])
def test_event_visibility_matches_policy(scene, role, visibility):
    """The events_read policy (inline, for the planner) and private.ctf_event_visible_to (the
    definer functions' copy) agree, and so do the fast read paths that use it."""
    db, ids, people = scene
    caller = who(people, role)
    db.execute("savepoint vis")
    try:
        db.execute(
            "update ctf.events set visibility = %s where id = %s", (visibility, ids["event"])
        )
        uid = None if caller == "anon" else caller.id
        rule = db.execute(
            "select private.ctf_event_visible_to(e, %s) as v from ctf.events as e where id = %s",
            (uid, ids["event"]),
        ).fetchone()["v"]
        with as_user(db, caller):
            policy = db.execute(
                "select count(*) as n from ctf.events where id = %(event)s", ids
            ).fetchone()["n"]
            board = db.execute(
                "select count(*) as n from api.ctf_get_scoreboard(%(event)s)", ids
            ).fetchone()["n"]
        listed = M.outcome(db, caller, "select * from api.ctf_list_challenges(%(event)s)", ids)
        page = M.outcome(db, caller, "select api.ctf_get_team_page(%(team_a)s)", ids)
    finally:
        db.execute("rollback to savepoint vis")
    assert (policy == 1) == rule
    assert (board > 0) == rule
    assert listed == ("yes" if rule else "ctf_event_not_found")
    assert page == ("yes" if rule else "ctf_team_not_found")


@pytest.mark.parametrize("role", ROLES)
def test_team_page_freeze_matches_policies(scene, role):
    """During the freeze the team page cuts solves and awards exactly where the solves_read
    and awards_read policies do, and shows the standings the scoreboard shows."""
    db, ids, people = scene
    caller = who(people, role)
    db.execute("savepoint frz")
    try:
        db.execute(
            "update ctf.events set freeze_at = now() - interval '1 minute' where id = %s",
            (ids["event"],),
        )
        with as_user(db, caller):
            page = db.execute("select api.ctf_get_team_page(%(team_a)s) as p", ids).fetchone()["p"]
            solves = db.execute(
                "select count(*) as n from api.ctf_solves where team_id = %(team_a)s", ids
            ).fetchone()["n"]
            awards = db.execute(
                "select count(*) as n from api.ctf_awards where team_id = %(team_a)s", ids
            ).fetchone()["n"]
            board = db.execute(
                "select score from api.ctf_get_scoreboard(%(event)s) where team_id = %(team_a)s",
                ids,
            ).fetchone()
    finally:
        db.execute("rollback to savepoint frz")
    assert len(page["solves"]) == solves
    assert len(page["awards"]) == awards
    assert board is not None and page["score"] == board["score"]
