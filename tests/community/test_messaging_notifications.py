"""Messaging privacy, blocking, unread counts, Realtime safety, notifications for every
domain (preferences, email, digests), contributions, export and erasure."""

from __future__ import annotations

import json

from flagship.testing.harness import api_error, create_user

from .conftest import call, scalar


def n(db, sql, params=None):
    return db.execute(sql, params).fetchone()["n"]


# -- messaging -----------------------------------------------------------------------------
def test_only_participants_read_and_write(db, scene):
    conv = scene.ids["conversation"]
    sql = "select count(*) from api.community_conversation_messages where conversation_id = %s"
    assert scalar(db, scene.owner, sql, (conv,)) == 2
    assert scalar(db, scene.participant, sql, (conv,)) == 2
    for outsider in (scene.member, scene.moderator, scene.admin):
        assert scalar(db, outsider, sql, (conv,)) == 0
        with api_error(db, "community_not_participant", "PT404"):
            call(db, outsider, "select api.community_send_message(%s, 'let me in')", (conv,))
        with api_error(db, "community_not_participant"):
            call(db, outsider, "select api.community_mark_conversation_read(%s)", (conv,))


def test_unread_counts_and_leaving(db, scene):
    conv = scene.ids["conversation"]
    # The owner has one unread message (the participant's reply).
    assert scalar(db, scene.owner, "select api.community_count_unread_messages()") == 1
    call(db, scene.owner, "select api.community_mark_conversation_read(%s)", (conv,))
    assert scalar(db, scene.owner, "select api.community_count_unread_messages()") == 0
    call(db, scene.participant, "select api.community_send_message(%s, 'one')", (conv,))
    call(db, scene.participant, "select api.community_send_message(%s, 'two')", (conv,))
    assert (
        scalar(
            db,
            scene.owner,
            "select unread_count from api.community_my_conversations where id = %s",
            (conv,),
        )
        == 2
    )
    # One consolidated notification per conversation while unread.
    assert (
        n(
            db,
            "select count(*) as n from community.notifications"
            " where user_id = %s and group_key = %s"
            " and read_at is null",
            (scene.owner.id, f"conversation:{conv}"),
        )
        == 1
    )
    call(db, scene.owner, "select api.community_leave_conversation(%s)", (conv,))
    assert (
        scalar(
            db,
            scene.owner,
            "select count(*) from api.community_conversation_messages where conversation_id = %s",
            (conv,),
        )
        == 0
    )
    with api_error(db, "community_not_participant"):
        call(db, scene.owner, "select api.community_send_message(%s, 'back?')", (conv,))
    # A new direct message brings the other person back.
    call(db, scene.participant, "select api.community_send_message(%s, 'come back')", (conv,))
    assert (
        scalar(
            db,
            scene.owner,
            "select count(*) from api.community_my_conversations where id = %s",
            (conv,),
        )
        == 1
    )


def test_blocking_stops_messages(db, scene):
    # The owner blocked the newbie in the scene.
    with api_error(db, "community_blocked", "42501"):
        call(
            db,
            scene.newbie,
            "select api.community_start_conversation(array[%s]::uuid[], 'hey')",
            (scene.owner.id,),
        )
    assert (
        n(
            db,
            "select count(*) as n from community.conversations where created_by = %s",
            (scene.newbie.id,),
        )
        == 0
    )
    # In a group, the newbie's messages are hidden from the owner only.
    group_msg = scalar(
        db,
        scene.member,
        "select api.community_start_conversation(array[%s, %s]::uuid[], 'group hello', 'Study "
        "group')",
        (scene.owner.id, scene.participant.id),
    )
    group = db.execute(
        "select conversation_id from community.messages where id = %s", (group_msg,)
    ).fetchone()["conversation_id"]
    call(db, scene.member, "select api.community_add_participant(%s, %s)", (group, scene.newbie.id))
    call(db, scene.newbie, "select api.community_send_message(%s, 'hi all')", (group,))
    sql = "select count(*) from api.community_conversation_messages where conversation_id = %s"
    assert scalar(db, scene.owner, sql, (group,)) == 1
    assert scalar(db, scene.participant, sql, (group,)) == 2
    # allow_messages = nobody refuses members (staff may still write).
    call(
        db,
        scene.participant,
        "select api.accounts_update_my_settings(%s)",
        (json.dumps({"privacy": {"allow_messages": "nobody"}}),),
    )
    with api_error(db, "community_blocked"):
        call(
            db,
            scene.member,
            "select api.community_start_conversation(array[%s]::uuid[], 'hi')",
            (scene.participant.id,),
        )
    call(
        db,
        scene.moderator,
        "select api.community_start_conversation(array[%s]::uuid[], 'staff note')",
        (scene.participant.id,),
    )
    # Groups are small.
    many = [create_user(db, username=f"crowd_{i}").id for i in range(10)]
    with api_error(db, "community_conversation_full"):
        call(
            db,
            scene.member,
            "select api.community_start_conversation(%s::uuid[], 'party')",
            (many,),
        )


def test_realtime_tables_are_guarded_by_rls(db, scene):
    tables = db.execute(
        "select schemaname, tablename from pg_publication_tables"
        " where pubname = 'supabase_realtime'"
        " and schemaname = 'community'"
    ).fetchall()
    assert {t["tablename"] for t in tables} == {
        "messages",
        "conversation_participants",
        "notifications",
    }
    for t in tables:
        assert db.execute(
            "select relrowsecurity from pg_class where oid = %s::regclass",
            (f"{t['schemaname']}.{t['tablename']}",),
        ).fetchone()["relrowsecurity"]
        policies = db.execute(
            "select roles, qual from pg_policies where schemaname = %s and tablename = %s"
            " and cmd = 'SELECT'",
            (t["schemaname"], t["tablename"]),
        ).fetchall()
        assert len(policies) == 1
        assert policies[0]["roles"] == ["authenticated"]
        assert (
            "auth.uid()" in policies[0]["qual"]
            or "community_my_conversations" in policies[0]["qual"]
        )
        assert not db.execute(
            "select has_table_privilege('anon', %s, 'select') as ok",
            (f"{t['schemaname']}.{t['tablename']}",),
        ).fetchone()["ok"]
    # Behaviour: an outsider subscribed to the table would receive none of these rows.
    for table, where in [
        ("community.messages", "conversation_id = %s"),
        ("community.conversation_participants", "conversation_id = %s"),
    ]:
        assert (
            scalar(
                db,
                scene.member,
                f"select count(*) from {table} where {where}",
                (scene.ids["conversation"],),
            )
            == 0
        )
    assert (
        scalar(
            db,
            scene.member,
            "select count(*) from community.notifications where user_id = %s",
            (scene.owner.id,),
        )
        == 0
    )


# -- notifications ---------------------------------------------------------------------------
def test_notify_for_other_domains_preferences_and_email(db, scene):
    owner = scene.owner
    nid = db.execute(
        "select private.notify(%s, 'ctf.challenge_solved', 'challenge', 'c1', '{\"points\": 100}')",
        (owner.id,),
    ).fetchone()["notify"]
    row = db.execute("select * from community.notifications where id = %s", (nid,)).fetchone()
    assert row["category"] == "ctf" and row["email_status"] == "digest"
    # Replies are emailed immediately through the outbox (once per consolidated row).
    db.execute(
        "select private.notify(%s, 'reply', 'post', '1', '{}', %s, 'g1')",
        (owner.id, scene.member.id),
    )
    db.execute(
        "select private.notify(%s, 'reply', 'post', '1', '{}', %s, 'g1')",
        (owner.id, scene.participant.id),
    )
    assert (
        n(
            db,
            "select count(*) as n from ops.outbox where topic = 'community.notification_email'"
            " and payload->>'user_id' = %s",
            (owner.id,),
        )
        >= 1
    )
    # Switching a category off in settings stops it.
    call(
        db,
        owner,
        "select api.accounts_update_my_settings(%s)",
        (json.dumps({"notifications": {"courses": {"in_app": False, "email": "off"}}}),),
    )
    assert (
        db.execute("select private.notify(%s, 'course.completed')", (owner.id,)).fetchone()[
            "notify"
        ]
        is None
    )
    with api_error(db, "invalid_argument"):
        db.execute("select private.notify(%s, 'Bad Kind')", (owner.id,))
    with api_error(db, "invalid_argument"):
        db.execute("select private.notify(%s, 'mystery', p_category => 'nope')", (owner.id,))


def test_digest_only_when_away(db, scene):
    owner = scene.owner
    db.execute("select private.notify(%s, 'ctf.event_started')", (owner.id,))
    # Seen just now (the scene's activity): no digest.
    assert (
        db.execute("select private.community_enqueue_digests()").fetchone()[
            "community_enqueue_digests"
        ]
        == 0
    )
    db.execute(
        "update community.members set last_seen_at = now() - interval '3 days' where user_id = %s",
        (owner.id,),
    )
    assert (
        db.execute("select private.community_enqueue_digests()").fetchone()[
            "community_enqueue_digests"
        ]
        == 1
    )
    job = db.execute(
        "select payload from ops.outbox where topic = 'community.notification_digest'"
    ).fetchone()
    assert job["payload"]["user_id"] == owner.id
    assert (
        db.execute("select private.community_enqueue_digests()").fetchone()[
            "community_enqueue_digests"
        ]
        == 0
    )


def test_read_unread_and_read_all(db, scene):
    owner = scene.owner
    unread = scalar(db, owner, "select api.community_count_notifications()")["unread"]
    assert unread >= 2
    first = scalar(db, owner, "select id from api.community_notifications order by id limit 1")
    assert (
        scalar(
            db, owner, "select api.community_mark_notifications_read(array[%s]::bigint[])", (first,)
        )
        == 1
    )
    assert scalar(db, owner, "select api.community_count_notifications()")["unread"] == unread - 1
    call(db, owner, "select api.community_mark_notification_unread(%s)", (first,))
    assert scalar(db, owner, "select api.community_count_notifications()")["unread"] == unread
    with api_error(db, "not_found"):
        call(db, scene.member, "select api.community_mark_notification_unread(%s)", (first,))
    call(db, owner, "select api.community_mark_notifications_read()")
    assert scalar(db, owner, "select api.community_count_notifications()")["unread"] == 0


# -- contributions ---------------------------------------------------------------------------
def test_contribution_workflow_and_ctf_handoff(db, scene):
    draft = scene.ids["draft"]
    call(db, scene.owner, "select api.community_submit_contribution(%s)", (draft,))
    with api_error(db, "community_transition_invalid", "PT409"):
        call(db, scene.owner, "select api.community_submit_contribution(%s)", (draft,))
    with api_error(db, "invalid_argument"):  # rejections need a reason
        call(
            db,
            scene.moderator,
            "select api.community_review_contribution(%s, 'rejected')",
            (draft,),
        )
    call(db, scene.moderator, "select api.community_review_contribution(%s, 'in_review')", (draft,))
    call(
        db,
        scene.moderator,
        "select api.community_review_contribution(%s, 'approved', 'Great')",
        (draft,),
    )
    job = db.execute(
        "select payload from ops.outbox where topic = 'community.challenge_proposal_approved'"
    ).fetchone()
    assert job["payload"]["contribution_id"] == draft and job["payload"]["data"] == {
        "difficulty": "hard"
    }
    # Approved proposals are not public (they become hidden CTF challenges).
    assert (
        scalar(
            db, "anon", "select count(*) from api.community_contributions where id = %s", (draft,)
        )
        == 0
    )
    assert (
        n(
            db,
            "select count(*) as n from community.notifications where user_id = %s"
            " and kind = 'contribution.approved'",
            (scene.owner.id,),
        )
        == 1
    )
    # Reviewers may not review their own work.
    own = scalar(
        db, scene.moderator, "select api.community_save_contribution('article', 'Mine', 'x')"
    )
    call(db, scene.moderator, "select api.community_submit_contribution(%s)", (own,))
    with api_error(db, "forbidden"):
        call(
            db, scene.moderator, "select api.community_review_contribution(%s, 'approved')", (own,)
        )


def test_ctf_writeup_visible_after_event_ends(db, scene):
    """The publication time comes from the challenge's event, never from the author."""
    event = db.execute(
        "insert into ctf.events (slug, title, starts_at, ends_at)"
        " values ('wu-test', 'Write-up test', now() - interval '1 day', now() + interval '1 day')"
        " returning id"
    ).fetchone()["id"]
    challenge = db.execute(
        "insert into ctf.challenges (event_id, title) values (%s, 'pwn1') returning id", (event,)
    ).fetchone()["id"]
    # The author claims the event already ended: ignored.
    wid = scalar(
        db,
        scene.owner,
        "select api.community_save_contribution('writeup', 'Solving pwn1', 'steps', '{}', %s,"
        " now() - interval '1 day')",
        (str(challenge),),
    )
    call(db, scene.owner, "select api.community_submit_contribution(%s)", (wid,))
    call(db, scene.admin, "select api.community_review_contribution(%s, 'approved')", (wid,))
    visible = "select count(*) from api.community_contributions where id = %s"
    assert scalar(db, "anon", visible, (wid,)) == 0
    db.execute(
        "update ctf.events set ends_at = now() - interval '1 minute' where id = %s", (event,)
    )
    assert scalar(db, "anon", visible, (wid,)) == 1
    with api_error(db, "community_challenge_unknown", "22023"):
        call(
            db,
            scene.owner,
            "select api.community_save_contribution('writeup', 'a', 'b', '{}', 'ctf:x', now())",
        )
    with api_error(db, "invalid_argument"):
        call(
            db,
            scene.owner,
            "select api.community_save_contribution('article', 'a', 'b', '{}', 'ctf:x', null)",
        )


def test_approved_proposal_becomes_a_hidden_practice_challenge(db, scene):
    pid = scalar(
        db,
        scene.owner,
        "select api.community_save_contribution('challenge_proposal', 'Heap feng shui', "
        "'Exploit it.',"
        ' \'{"category": "pwn", "difficulty": "4"}\', null, null)',
    )
    call(db, scene.owner, "select api.community_submit_contribution(%s)", (pid,))
    call(db, scene.admin, "select api.community_review_contribution(%s, 'approved')", (pid,))
    job = db.execute(
        "select payload from ops.outbox where topic = 'community.challenge_proposal_approved'"
        " and payload ->> 'contribution_id' = %s",
        (str(pid),),
    ).fetchone()
    first = db.execute(
        "select private.ctf_import_proposal(%s) as id", (json.dumps(job["payload"]),)
    ).fetchone()["id"]
    again = db.execute(
        "select private.ctf_import_proposal(%s) as id", (json.dumps(job["payload"]),)
    ).fetchone()["id"]
    assert first == again
    row = db.execute(
        "select c.state, c.category, c.difficulty, e.slug, cc.description"
        " from ctf.challenges c join ctf.events e on e.id = c.event_id"
        " join ctf.challenge_contents cc on cc.challenge_id = c.id where c.id = %s",
        (first,),
    ).fetchone()
    assert dict(row) == {
        "state": "hidden", "category": "pwn", "difficulty": 4, "slug": "practice",
        "description": "Exploit it.",
    }  # fmt: skip


# -- export and erasure ----------------------------------------------------------------------
def test_export_and_erasure(db, scene):
    export = scalar(db, scene.owner, "select api.accounts_export_my_data()")
    section = export["community"]
    assert len(section["posts"]) == 3 and len(section["messages"]) == 1
    assert section["blocks"] == [scene.newbie.id]
    call(db, scene.owner, "select api.accounts_delete_my_account('owner_user')")
    post = db.execute(
        "select author_id, body from community.posts where id = %s", (scene.ids["post1"],)
    ).fetchone()
    assert post["author_id"] is None and post["body"]  # anonymised, the discussion stays
    assert (
        n(
            db,
            "select count(*) as n from community.contributions where id = %s",
            (scene.ids["draft"],),
        )
        == 0
    )
    assert (
        n(db, "select count(*) as n from community.members where user_id = %s", (scene.owner.id,))
        == 0
    )
