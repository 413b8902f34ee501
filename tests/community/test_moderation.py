"""Moderation: flag -> auto-hide -> moderator decision -> author notified -> audit row; the
review queue's optimistic versions; sanctions; appeals; statistics."""

from __future__ import annotations

from flagship.testing.harness import api_error, create_user

from .conftest import call, scalar, set_trust


def flaggers(db, n: int, level: int = 1):
    users = [create_user(db, username=f"flagger_{i}") for i in range(n)]
    for u in users:
        set_trust(db, u, level)
    return users


def test_flag_auto_hide_decide_notify_audit(db, scene):
    post = scene.ids["reply"]  # the member's reply in the owner's thread
    author = scene.member
    # Trust-1 flags weigh 1.0; the threshold is 3.0: two flags do not hide, the third does.
    users = flaggers(db, 3)
    for u in users[:2]:
        call(db, u, "select api.community_report('post', %s, 'spam')", (str(post),))
    assert (
        db.execute("select hidden_at from community.posts where id = %s", (post,)).fetchone()[
            "hidden_at"
        ]
        is None
    )
    call(db, users[2], "select api.community_report('post', %s, 'abuse')", (str(post),))
    item = db.execute(
        "select * from community.review_items where target_type = 'post' and target_id = %s",
        (str(post),),
    ).fetchone()
    assert item["auto_hidden"] and item["flag_count"] == 3 and float(item["total_weight"]) == 3.0
    assert (
        db.execute("select hidden_at from community.posts where id = %s", (post,)).fetchone()[
            "hidden_at"
        ]
        is not None
    )
    # Hidden: others no longer see it, the author and staff still do.
    visible = "select count(*) as n from api.community_forum_posts where id = %s"
    assert scalar(db, scene.newbie, visible, (post,)) == 0
    assert scalar(db, "anon", visible, (post,)) == 0
    assert scalar(db, author, visible, (post,)) == 1
    assert scalar(db, scene.moderator, visible, (post,)) == 1
    # The author was told it was hidden.
    kinds = [
        r["kind"]
        for r in db.execute(
            "select kind from community.notifications where user_id = %s", (author.id,)
        )
    ]
    assert "moderation.auto_hidden" in kinds

    # A moderator agrees at the version they saw.
    queue = call(
        db, scene.moderator, "select * from api.community_review_queue where id = %s", (item["id"],)
    )
    assert queue["status"] == "pending" and len(queue["flags"]) == 3
    new_version = scalar(
        db,
        scene.moderator,
        "select api.community_decide_review(%s, 'agree', %s, 'Spam link')",
        (item["id"], queue["version"]),
    )
    assert new_version == queue["version"] + 1
    item = db.execute(
        "select * from community.review_items where id = %s", (item["id"],)
    ).fetchone()
    assert item["status"] == "agreed" and item["resolved_by"] is not None
    # Author notified of the outcome, upheld flag counted, audit row written.
    note = db.execute(
        "select * from community.notifications where user_id = %s and kind = 'moderation.hide'",
        (author.id,),
    ).fetchone()
    assert note is not None and note["data"]["reason"] == "Spam link"
    assert (
        db.execute(
            "select upheld_flags from community.members where user_id = %s", (author.id,)
        ).fetchone()["upheld_flags"]
        == 1
    )
    audit = db.execute(
        "select * from ops.audit_log where action = 'community.hide' and target_id = %s",
        (str(post),),
    ).fetchone()
    assert audit["actor_id"] is not None and str(audit["actor_id"]) == scene.moderator.id
    assert audit["reason"] == "Spam link"
    assert (
        db.execute(
            "select count(*) as n from ops.audit_log where action = 'community.auto_hidden'"
            " and target_id = %s",
            (str(post),),
        ).fetchone()["n"]
        == 1
    )
    history = [
        r["action"]
        for r in db.execute(
            "select action from community.review_history where review_item_id = %s order by id",
            (item["id"],),
        )
    ]
    assert history == ["flagged", "flagged", "flagged", "auto_hidden", "agree"]


def test_disagree_restores_auto_hidden_content(db, scene):
    post = scene.ids["reply"]
    for u in flaggers(db, 2, level=2):  # trust 2 flags weigh 1.5
        call(db, u, "select api.community_report('post', %s, 'spam')", (str(post),))
    item = db.execute(
        "select id, version, auto_hidden from community.review_items where target_id = %s",
        (str(post),),
    ).fetchone()
    assert item["auto_hidden"]
    call(
        db,
        scene.moderator,
        "select api.community_decide_review(%s, 'disagree', %s)",
        (item["id"], item["version"]),
    )
    assert (
        db.execute("select hidden_at from community.posts where id = %s", (post,)).fetchone()[
            "hidden_at"
        ]
        is None
    )
    assert (
        db.execute(
            "select count(*) as n from community.notifications where user_id = %s"
            " and kind = 'moderation.restore'",
            (scene.member.id,),
        ).fetchone()["n"]
        == 1
    )


def test_optimistic_version_and_closed_items(db, scene):
    item = scene.ids["review_item"]
    version = db.execute(
        "select version from community.review_items where id = %s", (item,)
    ).fetchone()["version"]
    # Another flag arrives: the moderator's copy is stale.
    call(
        db,
        scene.newbie,
        "select api.community_report('post', %s, 'spam')",
        (str(scene.ids["owner_post"]),),
    )
    with api_error(db, "community_review_stale", "PT409"):
        call(
            db,
            scene.moderator,
            "select api.community_decide_review(%s, 'defer', %s)",
            (item, version),
        )
    call(
        db,
        scene.moderator,
        "select api.community_decide_review(%s, 'defer', %s)",
        (item, version + 1),
    )
    with api_error(db, "community_review_closed", "PT409"):
        call(
            db,
            scene.admin,
            "select api.community_decide_review(%s, 'agree', %s)",
            (item, version + 2),
        )
    with api_error(db, "invalid_argument"):
        call(db, scene.admin, "select api.community_decide_review(%s, 'maybe', 1)", (item,))


def test_flag_abuse_cases(db, scene):
    post = str(scene.ids["owner_post"])
    with api_error(db, "community_flag_own", "22023"):
        call(db, scene.owner, "select api.community_report('post', %s, 'spam')", (post,))
    with api_error(db, "community_already_flagged", "PT409"):
        call(db, scene.member, "select api.community_report('post', %s, 'abuse')", (post,))
    with api_error(db, "community_flag_message_required"):
        call(db, scene.newbie, "select api.community_report('post', %s, 'other')", (post,))
    with api_error(db, "community_flag_reason_invalid"):
        call(
            db,
            scene.newbie,
            "select api.community_report('user', %s, 'off_topic')",
            (scene.owner.id,),
        )
    with api_error(db, "community_flag_reason_invalid"):
        call(db, scene.newbie, "select api.community_report('post', %s, 'nonsense')", (post,))
    with api_error(db, "not_found"):
        call(db, scene.newbie, "select api.community_report('post', '999999999', 'spam')")
    with api_error(db, "not_found"):  # a staff-only thread is invisible to members
        call(
            db,
            scene.newbie,
            "select api.community_report('thread', %s, 'spam')",
            (str(scene.ids["staff_thread"]),),
        )
    # Nothing partial: still one flag on the post.
    assert (
        db.execute(
            "select count(*) as n from community.flags where target_id = %s", (post,)
        ).fetchone()["n"]
        == 1
    )
    # A message of a conversation one is not in cannot be flagged (or even confirmed).
    with api_error(db, "not_found"):
        call(
            db,
            scene.member,
            "select api.community_report('message', %s, 'spam')",
            (str(scene.ids["message"]),),
        )
    # Flagging a user with a message reason works; users are never auto-hidden.
    call(
        db,
        scene.newbie,
        "select api.community_report('user', %s, 'other', 'Sends spam')",
        (scene.owner.id,),
    )


def test_silence_and_suspend(db, scene):
    owner = scene.owner
    thread = scene.ids["thread"]
    action = scalar(
        db,
        scene.moderator,
        "select api.community_moderate('silence', 'user', %s, 'Cool off', now() + interval '1 "
        "hour')",
        (owner.id,),
    )
    with api_error(db, "community_silenced", "42501"):
        call(db, owner, "select api.community_create_post(%s, 'let me talk')", (thread,))
    with api_error(db, "community_silenced"):
        call(db, owner, "select api.community_send_message(%s, 'hi')", (scene.ids["conversation"],))
    # Silenced members may still read and flag.
    assert (
        scalar(db, owner, "select count(*) from api.community_list_thread_posts(%s)", (thread,)) > 0
    )
    # The author learns why; the audit log has it.
    assert (
        db.execute(
            "select count(*) as n from community.notifications where user_id = %s"
            " and kind = 'moderation.silence'",
            (owner.id,),
        ).fetchone()["n"]
        == 1
    )
    assert (
        db.execute(
            "select reason from ops.audit_log"
            " where action = 'community.silence' and target_id = %s",
            (owner.id,),
        ).fetchone()["reason"]
        == "Cool off"
    )
    # Appeal granted: the silence is lifted.
    appeal = scalar(db, owner, "select api.community_appeal(%s, 'I was provoked')", (action,))
    call(
        db,
        scene.moderator,
        "select api.community_decide_appeal(%s, true, 'Fair enough')",
        (appeal,),
    )
    call(db, owner, "select api.community_create_post(%s, 'thanks')", (thread,))

    call(
        db,
        scene.admin,
        "select api.community_moderate('suspend', 'user', %s, 'Ban evasion', now() + interval "
        "'7 days')",
        (scene.member.id,),
    )
    banned = db.execute(
        "select banned_until from auth.users where id = %s", (scene.member.id,)
    ).fetchone()["banned_until"]
    assert banned is not None
    # Their still-valid token no longer works for any community call.
    with api_error(db, "community_suspended", "42501"):
        call(db, scene.member, "select api.community_create_post(%s, 'x')", (thread,))
    with api_error(db, "community_suspended"):
        call(
            db,
            scene.member,
            "select api.community_report('post', %s, 'spam')",
            (str(scene.ids["post1"]),),
        )
    with api_error(db, "community_suspended"):
        call(db, scene.member, "select api.community_record_visit()")
    with api_error(db, "invalid_argument"):
        call(
            db,
            scene.moderator,
            "select api.community_moderate('suspend', 'user', %s, 'x y z')",
            (owner.id,),
        )
    with api_error(db, "invalid_argument"):
        call(
            db,
            scene.moderator,
            "select api.community_moderate('lock', 'post', %s, 'reason')",
            (str(scene.ids["reply"]),),
        )


def test_lock_move_and_pin(db, scene):
    thread = scene.ids["thread"]
    call(
        db,
        scene.moderator,
        "select api.community_moderate('lock', 'thread', %s, 'Resolved')",
        (str(thread),),
    )
    with api_error(db, "community_thread_locked", "PT423"):
        call(db, scene.member, "select api.community_create_post(%s, 'late')", (thread,))
    with api_error(db, "community_thread_locked"):
        call(
            db,
            scene.owner,
            "select api.community_edit_post(%s, 'changed')",
            (scene.ids["owner_post"],),
        )
    call(
        db,
        scene.moderator,
        "select api.community_create_post(%s, 'staff may still post')",
        (thread,),
    )
    call(
        db,
        scene.moderator,
        "select api.community_moderate('move', 'thread', %s, 'Wrong place', null, %s)",
        (str(thread), scene.ids["members_cat"]),
    )
    assert (
        scalar(
            db, "anon", "select count(*) from api.community_forum_threads where id = %s", (thread,)
        )
        == 0
    )
    assert (
        scalar(
            db,
            scene.newbie,
            "select count(*) from api.community_forum_threads where id = %s",
            (thread,),
        )
        == 1
    )


def test_moderation_stats(db, scene):
    item = scene.ids["review_item"]
    version = db.execute(
        "select version from community.review_items where id = %s", (item,)
    ).fetchone()["version"]
    call(
        db, scene.moderator, "select api.community_decide_review(%s, 'defer', %s)", (item, version)
    )
    stats = scalar(db, scene.moderator, "select api.community_get_moderation_stats()")
    assert stats["open_items"] == 0 and stats["resolved"] == 1
    assert stats["decisions"] == {"deferred": 1}
    assert stats["resolution_seconds"]["median"] is not None
    by_mod = {r["moderator_id"]: r for r in stats["actions_by_moderator"]}
    assert by_mod[scene.moderator.id]["by_action"] == {"lock": 1}
    assert stats["open_appeals"] == 1
