"""RLS matrix for every CTF object: role × object × select/insert/update/delete/execute.

Roles: anon, player (captain of team A), teammate (team A), other (player of team B),
organiser (of the event), other_org (organiser of another event), admin, service_role.
Outcomes: "yes" (team A's / the event's rows visible, or the call worked), "no" (allowed to
ask, nothing visible or changed), "deny" (42501: no privilege or a policy refusal), or an API
error code.
"""

from __future__ import annotations

import pytest
from ctfkit import build_scene, make_challenge, submit, val

from flagship.database import connect
from flagship.testing.harness import as_user, matrix_outcome

ROLES = ["anon", "player", "teammate", "other", "organiser", "other_org", "admin", "service_role"]


def row(*outcomes):
    assert len(outcomes) == len(ROLES)
    return dict(zip(ROLES, outcomes, strict=True))


ALL = row(*["yes"] * 8)
DENY = row(*["deny"] * 8)
# team A's private things: own team, organisers of the event and admins (+ service_role)
TEAM = row("deny", "yes", "yes", "no", "yes", "no", "yes", "yes")
TEAM_ANON_NO = row("no", "yes", "yes", "no", "yes", "no", "yes", "yes")
ORGS = row("deny", "no", "no", "no", "yes", "no", "yes", "yes")
# organiser RPCs
ORG_RPC = row(
    "deny",
    "ctf_not_organiser",
    "ctf_not_organiser",
    "ctf_not_organiser",
    "yes",
    "ctf_not_organiser",
    "yes",
    "deny",
)

SELECT = {
    "ctf.events": ("id = %(event)s", ALL),
    "ctf.brackets": ("event_id = %(event)s", ALL),
    "ctf.organisers": ("event_id = %(event)s", ALL),
    "ctf.teams": ("id = %(team_a)s", row(*["yes"] * 8)),
    "ctf.participants": ("team_id = %(team_a)s", ALL),
    "ctf.challenges": ("id = %(challenge)s", ALL),
    "ctf.challenge_contents": (
        "challenge_id = %(challenge)s",
        row("no", "yes", "yes", "yes", "yes", "no", "yes", "yes"),
    ),
    "ctf.challenge_writeups": ("challenge_id = %(challenge)s", TEAM_ANON_NO),
    "ctf.challenge_prerequisites": ("challenge_id = %(needs)s", ALL),
    "ctf.challenge_files": (
        "challenge_id = %(challenge)s",
        row("deny", "yes", "yes", "yes", "yes", "no", "yes", "yes"),
    ),
    "ctf.flags": ("true", DENY),
    "ctf.hints": ("id = %(hint)s", ALL),
    "ctf.hint_contents": ("hint_id = %(hint)s", TEAM_ANON_NO),
    "ctf.hint_unlocks": ("team_id = %(team_a)s", TEAM),
    "ctf.solves": ("team_id = %(team_a)s", ALL),
    "ctf.submissions": ("team_id = %(team_a)s", TEAM),
    "ctf.flag_progress": ("team_id = %(team_a)s", TEAM),
    "ctf.sharing_reports": ("event_id = %(event)s", ORGS),
    "ctf.awards": ("team_id = %(team_a)s", ALL),
    "ctf.feedback": (
        "user_id = %(player)s",
        row("deny", "yes", "no", "no", "yes", "no", "yes", "yes"),
    ),
    "ctf.user_attempts": ("true", row(*["deny"] * 7, "yes")),
    "ctf.account_bans": ("true", row(*["deny"] * 7, "yes")),
    "ctf.team_kicks": ("true", row(*["deny"] * 7, "yes")),
    "ctf.team_attempts": ("true", row(*["deny"] * 7, "yes")),
    "ctf.standings": ("team_id = %(team_a)s", ALL),
    "ctf.standings_frozen": ("team_id = %(team_a)s", ALL),
    "api.ctf_events": ("id = %(event)s", ALL),
    "api.ctf_brackets": ("event_id = %(event)s", ALL),
    "api.ctf_organisers": ("event_id = %(event)s", ALL),
    "api.ctf_teams": ("id = %(team_a)s", ALL),
    "api.ctf_team_members": ("team_id = %(team_a)s", ALL),
    "api.ctf_challenges": ("id = %(challenge)s", ALL),
    "api.ctf_challenges#content": (
        "id = %(challenge)s and description is not null",
        row("no", "yes", "yes", "yes", "yes", "no", "yes", "yes"),
    ),
    "api.ctf_challenge_files": (
        "challenge_id = %(challenge)s",
        row("deny", "yes", "yes", "yes", "yes", "no", "yes", "yes"),
    ),
    "api.ctf_hints": ("id = %(hint)s", ALL),
    "api.ctf_hints#content": ("id = %(hint)s and content is not null", TEAM_ANON_NO),
    "api.ctf_submissions": ("team_id = %(team_a)s", TEAM),
    "api.ctf_solves": ("team_id = %(team_a)s", ALL),
    "api.ctf_awards": ("team_id = %(team_a)s", ALL),
    "api.ctf_challenge_stats": ("challenge_id = %(challenge)s", ALL),
    "api.ctf_feedback_summary": (
        "challenge_id = %(challenge)s",
        row("deny", "yes", "no", "no", "yes", "no", "yes", "yes"),
    ),
    "api.ctf_sharing_reports": ("event_id = %(event)s", ORGS),
}

TABLES = [k for k in SELECT if k.startswith("ctf.")]
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


EXECUTE = {
    "api.ctf_create_event": (
        'select api.ctf_create_event(\'{"slug": "m-x", "title": "M"}\')',
        row("deny", "forbidden", "forbidden", "forbidden", "yes", "yes", "yes", "deny"),
    ),
    "api.ctf_update_event": (
        'select api.ctf_update_event(%(event)s, \'{"description": "x"}\')',
        ORG_RPC,
    ),
    "api.ctf_create_bracket": ("select api.ctf_create_bracket(%(event)s, 'pro')", ORG_RPC),
    "api.ctf_set_organiser": ("select api.ctf_set_organiser(%(event)s, %(player)s, true)", ORG_RPC),
    "api.ctf_save_challenge": (
        'select api.ctf_save_challenge(%(event)s, \'{"title": "m"}\')',
        ORG_RPC,
    ),
    "api.ctf_add_flag": ("select api.ctf_add_flag(%(challenge)s, 'static', 'x')", ORG_RPC),
    "api.ctf_remove_flag": ("select api.ctf_remove_flag(%(flag)s)", ORG_RPC),
    "api.ctf_list_flags": ("select api.ctf_list_flags(%(challenge)s)", ORG_RPC),
    "api.ctf_list_team_flags": (
        "select api.ctf_list_team_flags(%(challenge)s, %(team_a)s)",
        ORG_RPC,
    ),
    "api.ctf_add_hint": ("select api.ctf_add_hint(%(challenge)s, 'more')", ORG_RPC),
    "api.ctf_add_file": ("select api.ctf_add_file(%(challenge)s, 'b.bin', %(path)s)", ORG_RPC),
    "api.ctf_register": (
        "select api.ctf_register(%(practice)s)",
        row(*(["deny"] + ["yes"] * 6 + ["deny"])),
    ),
    "api.ctf_create_team": (
        "select api.ctf_create_team(%(event)s, 'Newcomers')",
        row(
            "deny",
            "ctf_already_registered",
            "ctf_already_registered",
            "ctf_already_registered",
            "yes",
            "yes",
            "yes",
            "deny",
        ),
    ),
    "api.ctf_join_team": (
        "select api.ctf_join_team(%(invite)s)",
        row(
            "deny",
            "ctf_already_registered",
            "ctf_already_registered",
            "ctf_already_registered",
            "yes",
            "yes",
            "yes",
            "deny",
        ),
    ),
    "api.ctf_get_team_invite_code": (
        "select api.ctf_get_team_invite_code(%(team_a)s)",
        row(
            "deny", "yes", "yes", "ctf_not_team_member", "yes", "ctf_not_team_member", "yes", "deny"
        ),
    ),
    "api.ctf_leave_team": (
        "select api.ctf_leave_team(%(event)s)",
        row(
            "deny",
            "ctf_captain_must_transfer",
            "yes",
            "ctf_membership_locked",
            "ctf_not_registered",
            "ctf_not_registered",
            "ctf_not_registered",
            "deny",
        ),
    ),
    "api.ctf_kick_member": (
        "select api.ctf_kick_member(%(team_a)s, %(teammate)s)",
        row(
            "deny",
            "yes",
            "ctf_not_captain",
            "ctf_not_captain",
            "yes",
            "ctf_not_captain",
            "yes",
            "deny",
        ),
    ),
    "api.ctf_reinvite_member": (
        "select api.ctf_reinvite_member(%(team_a)s, %(teammate)s)",
        row(
            "deny",
            "yes",
            "ctf_not_captain",
            "ctf_not_captain",
            "yes",
            "ctf_not_captain",
            "yes",
            "deny",
        ),
    ),
    "api.ctf_rotate_team_invite_code": (
        "select api.ctf_rotate_team_invite_code(%(team_a)s)",
        row("deny", "yes", *["ctf_not_captain"] * 5, "deny"),
    ),
    "api.ctf_transfer_captaincy": (
        "select api.ctf_transfer_captaincy(%(team_a)s, %(teammate)s)",
        row("deny", "yes", *["ctf_not_captain"] * 5, "deny"),
    ),
    "api.ctf_rename_team": (
        "select api.ctf_rename_team(%(team_a)s, 'Renamed')",
        row(
            "deny",
            "yes",
            "ctf_not_captain",
            "ctf_not_captain",
            "yes",
            "ctf_not_captain",
            "yes",
            "deny",
        ),
    ),
    "api.ctf_moderate_team": ("select api.ctf_moderate_team(%(team_b)s, true, null, 'x')", ORG_RPC),
    "api.ctf_ban_participant": (
        "select api.ctf_ban_participant(%(event)s, %(teammate)s, true, 'x')",
        ORG_RPC,
    ),
    "api.ctf_submit": (
        "select api.ctf_submit(%(second)s, 'flag{two}')",
        row(
            "deny",
            "yes",
            "yes",
            "yes",
            "ctf_not_registered",
            "ctf_not_registered",
            "ctf_not_registered",
            "deny",
        ),
    ),
    "api.ctf_unlock_hint": (
        "select api.ctf_unlock_hint(%(hint2)s)",
        row(
            "deny",
            "yes",
            "yes",
            "yes",
            "ctf_not_registered",
            "ctf_not_registered",
            "ctf_not_registered",
            "deny",
        ),
    ),
    "api.ctf_grant_award": ("select api.ctf_grant_award(%(event)s, %(team_a)s, 5, 'x')", ORG_RPC),
    "api.ctf_remove_award": ("select api.ctf_remove_award(%(award)s, 'x')", ORG_RPC),
    "api.ctf_delete_solve": ("select api.ctf_delete_solve(%(solve)s, 'x')", ORG_RPC),
    "api.ctf_recompute_standings": ("select api.ctf_recompute_standings(%(event)s)", ORG_RPC),
    "api.ctf_give_feedback": (
        "select api.ctf_give_feedback(%(challenge)s, 4)",
        row(
            "deny",
            "yes",
            "yes",
            "ctf_feedback_not_allowed",
            "ctf_not_registered",
            "ctf_not_registered",
            "ctf_not_registered",
            "deny",
        ),
    ),
    "api.ctf_export_event": ("select api.ctf_export_event(%(event)s)", ORG_RPC),
    "api.ctf_get_scoreboard": ("select * from api.ctf_get_scoreboard(%(event)s)", ALL),
    "api.ctf_list_challenges": ("select * from api.ctf_list_challenges(%(event)s)", ALL),
    "api.ctf_get_team_page": ("select api.ctf_get_team_page(%(team_a)s)", ALL),
    "api.ctf_get_score_graph": ("select api.ctf_get_score_graph(%(event)s)", ALL),
    "api.ctf_get_ctftime_feed": ("select api.ctf_get_ctftime_feed(%(event)s)", ALL),
    "private.ctf_recompute_event": ("select private.ctf_recompute_event(%(event)s)", DENY),
    "private.ctf_standings_mismatches": (
        "select private.ctf_standings_mismatches(%(event)s)",
        DENY,
    ),
    "private.ctf_freeze_guard": ("select private.ctf_freeze_guard(%(event)s)", DENY),
    "private.ctf_apply_award": (
        "select private.ctf_apply_award(%(event)s, %(team_a)s, 1000)",
        DENY,
    ),
    "private.ctf_team_flag_text": (
        "select private.ctf_team_flag_text('\\x00', '%%s', %(team_a)s)",
        DENY,
    ),
    "private.ctf_recompute_team": (
        "select private.ctf_recompute_team(%(event)s, %(team_a)s)",
        DENY,
    ),
    "private.ctf_export_user": ("select private.ctf_export_user(%(player)s)", DENY),
    "private.ctf_erase_user": ("select private.ctf_erase_user(%(player)s)", DENY),
}


@pytest.fixture(scope="module")
def scene(db_url):
    """Team A has something in every CTF object. Built once per module in a transaction that
    is never committed; every cell runs in a savepoint that is rolled back."""
    db = connect(db_url)
    try:
        yield (db, *fill(db, build_scene(db)))
    finally:
        db.rollback()
        db.close()


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
    val(
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
    ids["hint"] = val(db, o, "select api.ctf_add_hint(%s, 'hint text')", (ctf.challenge,))
    ids["hint2"] = val(db, o, "select api.ctf_add_hint(%s, 'hint two')", (ids["second"],))
    ids["path"] = f"{ctf.event}/{ctf.challenge}/a.bin"
    val(db, o, "select api.ctf_add_file(%s, 'a.bin', %s)", (ctf.challenge, ids["path"]))
    submit(db, ctf.player, ctf.challenge, "wrong")
    submit(db, ctf.player, ctf.challenge, "flag{one}")
    submit(db, ctf.player, multi, "m{1}")
    val(db, ctf.player, "select api.ctf_unlock_hint(%s)", (ids["hint"],))
    val(db, ctf.player, "select api.ctf_give_feedback(%s, 5, 'nice')", (ctf.challenge,))
    ids["award"] = val(
        db, o, "select api.ctf_grant_award(%s, %s, 10, 'x')", (ctf.event, ctf.team_a)
    )
    flag_a = val(db, o, "select api.ctf_list_team_flags(%s, %s)", (shared, ctf.team_a))[0]["flag"]
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


# 42501 refusals that count as "deny" in this matrix
DENIED = frozenset({None})


def outcome(db, who, sql, params, *, count_rows=False) -> str:
    return matrix_outcome(db, who, sql, params, count_rows=count_rows, denied=DENIED)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("obj", sorted(SELECT))
def test_select(scene, obj, role):
    db, ids, people = scene
    where, expected = SELECT[obj]
    sql = f"select count(*) as n from {obj.split('#')[0]} where {where}"
    assert outcome(db, who(people, role), sql, ids, count_rows=True) == expected[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["insert", "update", "delete"])
@pytest.mark.parametrize("obj", TABLES + VIEWS_WRITABLE)
def test_write(scene, obj, action, role):
    db, ids, people = scene
    got = outcome(db, who(people, role), write_sql(db, obj, action), ids)
    assert got in ("deny", "no", "readonly"), f"{role} could {action} {obj}: {got}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("fn", sorted(EXECUTE))
def test_execute(scene, fn, role):
    db, ids, people = scene
    sql, expected = EXECUTE[fn]
    assert outcome(db, who(people, role), sql, ids) == expected[role]


def test_matrix_covers_every_ctf_object(db):
    tables = {
        r["o"]
        for r in db.execute(
            "select 'ctf.' || relname as o from pg_class where relnamespace = 'ctf'::regnamespace"
            " and relkind = 'r'"
        )
    }
    views = {
        r["o"]
        for r in db.execute(
            "select 'api.' || relname as o from pg_class where relnamespace = 'api'::regnamespace"
            " and relkind = 'v' and relname like 'ctf%%'"
        )
    }
    functions = {
        r["o"]
        for r in db.execute(
            "select 'api.' || proname as o from pg_proc where pronamespace = 'api'::regnamespace"
            " and proname like 'ctf%%'"
        )
    }
    covered = {k.split("#")[0] for k in SELECT} | set(EXECUTE)
    assert sorted((tables | views | functions) - covered) == []


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
        listed = outcome(db, caller, "select * from api.ctf_list_challenges(%(event)s)", ids)
        page = outcome(db, caller, "select api.ctf_get_team_page(%(team_a)s)", ids)
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
