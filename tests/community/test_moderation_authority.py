"""Attacks on moderation: staff reading private messages through reports, moderators acting
above their rank or on themselves, locking out the last admin, and duplicate flags written
differently. Each test performs the attack and checks it is refused and changes nothing."""

from __future__ import annotations

import threading

import psycopg

from flagship.database import connect
from flagship.testing.harness import User, api_error, as_user, create_user, refresh

from .conftest import call, scalar, set_trust


def grant_roles(db, user: User, role: str) -> User:
    """Give a global role as the platform owner, and re-issue the user's claims."""
    db.execute("insert into accounts.user_roles (user_id, role) values (%s, %s)", (user.id, role))
    return refresh(db, user)


def queue_bodies(db, who) -> list:
    """Every message body a moderator can read in the review queue."""
    rows = call(
        db,
        who,
        "select coalesce(jsonb_agg(snapshot ->> 'body'), '[]') as b"
        " from api.community_review_queue where target_type = 'message'",
    )
    return [b for b in rows["b"] if b is not None]


def test_staff_cannot_pull_a_conversation_into_the_review_queue(db, scene):
    secret = scene.ids["message"]  # "Hello partner", owner -> participant
    for staff in (scene.moderator, scene.admin):
        with api_error(db, "not_found"):
            call(db, staff, "select api.community_report('message', %s, 'spam')", (str(secret),))
    # A member outside the conversation cannot either (nor confirm the message exists).
    with api_error(db, "not_found"):
        call(db, scene.member, "select api.community_report('message', %s, 'spam')", (str(secret),))
    assert queue_bodies(db, scene.moderator) == []
    assert (
        db.execute(
            "select count(*) as n from community.review_items where target_type = 'message'"
        ).fetchone()["n"]
        == 0
    )
    # A participant's report shows moderators that one message, and nothing else of it.
    call(
        db,
        scene.participant,
        "select api.community_report('message', %s, 'abuse')",
        (str(secret),),
    )
    assert queue_bodies(db, scene.moderator) == ["Hello partner"]
    assert queue_bodies(db, scene.owner) == []  # members never read the queue


def test_a_participant_who_left_cannot_report(db, scene):
    conversation = scene.ids["conversation"]
    call(db, scene.participant, "select api.community_leave_conversation(%s)", (conversation,))
    with api_error(db, "not_found"):
        call(
            db,
            scene.participant,
            "select api.community_report('message', %s, 'spam')",
            (str(scene.ids["message"]),),
        )
    assert queue_bodies(db, scene.moderator) == []


def second(db, role: str, name: str):
    return grant_roles(db, create_user(db, username=name), role)


def test_moderators_act_only_on_members_below_them(db, scene):
    other_mod = second(db, "moderator", "other_mod")
    suspend = (
        "select api.community_moderate('suspend', 'user', %s, 'power grab',"
        " now() + interval '1 day')"
    )
    for target in (scene.admin, other_mod):
        with api_error(db, "community_outranked", "42501"):
            call(db, scene.moderator, suspend, (target.id,))
        with api_error(db, "community_outranked"):
            call(
                db,
                scene.moderator,
                "select api.community_moderate('silence', 'user', %s, 'hush',"
                " now() + interval '1 hour')",
                (target.id,),
            )
    # Nor on their content.
    admin_post = scalar(
        db,
        scene.admin,
        "select api.community_create_post(%s, 'Admin here')",
        (scene.ids["thread"],),
    )
    with api_error(db, "community_outranked"):
        call(
            db,
            scene.moderator,
            "select api.community_moderate('hide', 'post', %s, 'not yours')",
            (str(admin_post),),
        )
    # Nobody moderates themselves.
    with api_error(db, "community_self_moderation", "PT403"):
        call(db, scene.admin, suspend, (scene.admin.id,))
    with api_error(db, "community_self_moderation"):
        call(db, scene.moderator, suspend, (scene.moderator.id,))
    nothing = db.execute(
        "select count(*) as n from community.moderation_actions"
        " where target_user_id = any(%s::uuid[])",
        ([scene.admin.id, other_mod.id, scene.moderator.id],),
    ).fetchone()["n"]
    assert nothing == 0
    banned = db.execute(
        "select count(*) as n from auth.users where id = any(%s::uuid[]) and banned_until is"
        " not null",
        ([scene.admin.id, other_mod.id, scene.moderator.id],),
    ).fetchone()["n"]
    assert banned == 0
    assert (
        db.execute("select hidden_at from community.posts where id = %s", (admin_post,)).fetchone()[
            "hidden_at"
        ]
        is None
    )
    # Admins act on moderators (and members); moderators on members.
    call(db, scene.admin, suspend, (other_mod.id,))
    call(db, scene.moderator, suspend, (scene.newbie.id,))


def test_nobody_decides_their_own_appeal(db, scene):
    action = scalar(
        db,
        scene.admin,
        "select api.community_moderate('silence', 'user', %s, 'Too harsh',"
        " now() + interval '1 day')",
        (scene.moderator.id,),
    )
    appeal = scalar(db, scene.moderator, "select api.community_appeal(%s, 'Not fair')", (action,))
    with api_error(db, "community_self_moderation", "PT403"):
        call(
            db,
            scene.moderator,
            "select api.community_decide_appeal(%s, true, 'Granted')",
            (appeal,),
        )
    # A peer moderator may not decide it either.
    peer = second(db, "moderator", "peer_mod")
    with api_error(db, "community_outranked"):
        call(db, peer, "select api.community_decide_appeal(%s, true, 'Granted')", (appeal,))
    row = db.execute(
        "select a.status, m.silenced_until > now() as silenced from community.appeals as a"
        " join community.members as m on m.user_id = a.user_id where a.id = %s",
        (appeal,),
    ).fetchone()
    assert (row["status"], row["silenced"]) == ("open", True)
    call(db, scene.admin, "select api.community_decide_appeal(%s, false, 'Upheld')", (appeal,))


def test_nobody_decides_a_report_against_their_own_content(db, scene):
    post = scalar(
        db,
        scene.moderator,
        "select api.community_create_post(%s, 'Moderator post')",
        (scene.ids["thread"],),
    )
    call(db, scene.member, "select api.community_report('post', %s, 'spam')", (str(post),))
    item = db.execute(
        "select id, version from community.review_items where target_type = 'post'"
        " and target_id = %s",
        (str(post),),
    ).fetchone()
    decide = "select api.community_decide_review(%s, 'disagree', %s)"
    with api_error(db, "community_self_moderation"):
        call(db, scene.moderator, decide, (item["id"], item["version"]))
    peer = second(db, "moderator", "peer_mod")
    with api_error(db, "community_outranked"):
        call(db, peer, decide, (item["id"], item["version"]))
    status = db.execute(
        "select status from community.review_items where id = %s", (item["id"],)
    ).fetchone()["status"]
    assert status == "pending"
    call(db, scene.admin, decide, (item["id"], item["version"]))


def test_a_suspended_admin_cannot_suspend_the_last_active_one(db, scene):
    other = second(db, "admin", "other_admin")
    suspend = (
        "select api.community_moderate('suspend', 'user', %s, 'lockout', now() + interval '1 day')"
    )
    call(db, other, suspend, (scene.admin.id,))
    # scene.admin's token is still valid, but the last active admin stays active.
    with api_error(db, "community_suspended"):
        call(db, scene.admin, suspend, (other.id,))
    assert (
        db.execute("select banned_until from auth.users where id = %s", (other.id,)).fetchone()[
            "banned_until"
        ]
        is None
    )


def test_two_admins_suspending_each_other_at_once_leave_one_active(fresh_db):
    with connect(fresh_db) as db:
        a = grant_roles(db, create_user(db, username="admin_a"), "admin")
        b = grant_roles(db, create_user(db, username="admin_b"), "admin")
        # The platform owner role (the migrations' first admin) would otherwise stay active.
        db.execute(
            "delete from accounts.user_roles where role = 'admin' and user_id <> all(%s::uuid[])",
            ([a.id, b.id],),
        )
        db.commit()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def suspend(actor, target):
        with connect(fresh_db) as conn:
            barrier.wait(timeout=30)
            try:
                with conn.transaction(), as_user(conn, actor):
                    conn.execute(
                        "select api.community_moderate('suspend', 'user', %s, 'race',"
                        " now() + interval '1 day')",
                        (target.id,),
                    )
                outcomes[actor.id] = "ok"
            except psycopg.Error as exc:  # the expected outcome for one of them
                outcomes[actor.id] = exc.diag.message_hint or str(exc)

    threads = [
        threading.Thread(target=suspend, args=(a, b)),
        threading.Thread(target=suspend, args=(b, a)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # The loser waits for the winner, then finds itself suspended (or the last admin).
    refused, ok = sorted(outcomes.values())
    assert ok == "ok" and refused in ("community_suspended", "community_last_admin"), outcomes
    with connect(fresh_db) as db:
        active = db.execute(
            "select count(*) as n from accounts.user_roles as r join auth.users as u"
            " on u.id = r.user_id where r.role = 'admin'"
            " and (u.banned_until is null or u.banned_until <= now())"
        ).fetchone()["n"]
    assert active == 1


def test_the_same_target_written_differently_is_one_flag(db, scene):
    post = scene.ids["post1"]
    call(db, scene.member, "select api.community_report('post', %s, 'spam')", (str(post),))
    for spelling in (f"0{post}", f"00{post}", f" {post}", f"+{post}"):
        with api_error(db, "community_already_flagged"):
            call(db, scene.member, "select api.community_report('post', %s, 'spam')", (spelling,))
    set_trust(db, scene.newbie, 1)
    call(db, scene.newbie, "select api.community_report('user', %s, 'spam')", (scene.owner.id,))
    upper = scene.owner.id.upper()
    for spelling in (upper, "{" + scene.owner.id + "}", scene.owner.id.replace("-", "")):
        with api_error(db, "community_already_flagged"):
            call(db, scene.newbie, "select api.community_report('user', %s, 'spam')", (spelling,))
    rows = db.execute(
        "select target_type, target_id from community.flags where flagger_id = any(%s::uuid[])"
        " order by id",
        ([scene.member.id, scene.newbie.id],),
    ).fetchall()
    assert [(r["target_type"], r["target_id"]) for r in rows] == [
        ("post", str(scene.ids["owner_post"])),
        ("post", str(post)),
        ("user", scene.owner.id),
    ]
    # One pending review item per target, whatever the spelling.
    assert (
        db.execute(
            "select count(*) as n from community.review_items where target_type = 'post'"
            " and ltrim(target_id, '0+ ') = %s",
            (str(post),),
        ).fetchone()["n"]
        == 1
    )
