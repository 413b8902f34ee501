"""Forums: levels, locked threads, reactions, mentions, edits, deletion, limits, listings and
search; each refused call writes nothing."""

from __future__ import annotations

import pytest

from flagship.testing.harness import api_error, create_user

from .conftest import call, scalar


def count(db, sql, params=None):
    return db.execute(sql, params).fetchone()["n"]


def test_post_levels_and_pro_category(db, scene):
    with api_error(db, "community_cannot_post", "42501"):
        call(
            db,
            scene.member,
            "select api.community_create_thread(%s, 'Hi', 'x')",
            (scene.ids["announce"],),
        )
    with api_error(db, "not_found", "PT404"):  # pro: has_entitlement is false until payments
        call(
            db,
            scene.member,
            "select api.community_create_thread(%s, 'Hi', 'x')",
            (scene.ids["pro_cat"],),
        )
    with api_error(db, None, "42501"):  # anon may not even call it
        call(db, "anon", "select api.community_create_post(%s, 'x')", (scene.ids["thread"],))
    # Staff read and post in pro categories.
    call(
        db,
        scene.moderator,
        "select api.community_create_thread(%s, 'Pro tips', 'x')",
        (scene.ids["pro_cat"],),
    )
    # Nothing partial: no thread was counted for the refused calls.
    assert (
        count(
            db,
            "select thread_count as n from community.categories where id = %s",
            (scene.ids["announce"],),
        )
        == 0
    )


def test_reactions_once_and_consolidated_notification(db, scene):
    post = scene.ids["owner_post"]
    with api_error(db, "community_already_reacted", "PT409"):
        call(db, scene.member, "select api.community_react(%s, 'love')", (post,))
    with api_error(db, "community_reaction_invalid"):
        call(db, scene.newbie, "select api.community_react(%s, 'angry')", (post,))
    others = [create_user(db, username=f"liker_{i}") for i in range(4)]
    for u in others:
        call(db, u, "select api.community_react(%s, 'like')", (post,))
    rows = db.execute(
        "select * from community.notifications where user_id = %s and kind = 'reaction'",
        (scene.owner.id,),
    ).fetchall()
    assert len(rows) == 1 and rows[0]["actor_count"] == 5  # "5 people liked your post"
    assert str(rows[0]["actor_ids"][0]) == others[-1].id
    p = db.execute(
        "select reaction_count, reactions from community.posts where id = %s", (post,)
    ).fetchone()
    assert p["reaction_count"] == 5 and p["reactions"] == {"like": 5}
    # Once read, a new reaction starts a new row.
    call(db, scene.owner, "select api.community_mark_notifications_read()")
    call(db, scene.participant, "select api.community_react(%s, 'celebrate')", (post,))
    assert scalar(db, scene.owner, "select api.community_count_notifications()")["unread"] == 1
    call(db, scene.member, "select api.community_unreact(%s)", (post,))
    call(db, scene.member, "select api.community_react(%s, 'insightful')", (post,))


def test_mentions_notify_and_storms_are_refused(db, scene):
    thread = scene.ids["thread"]
    call(
        db,
        scene.member,
        "select api.community_create_post(%s, 'Ping @newbie_user and @mod_user')",
        (thread,),
    )
    kinds = {
        r["user_id"].hex: r["kind"]
        for r in db.execute(
            "select user_id, kind from community.notifications where kind = 'mention'"
        )
    }
    assert set(kinds) == {scene.newbie.id.replace("-", ""), scene.moderator.id.replace("-", "")}
    names = " ".join(f"@user{i:03d}x" for i in range(11))
    before = count(db, "select count(*) as n from community.posts")
    with api_error(db, "community_too_many_mentions", "22023"):
        call(db, scene.member, "select api.community_create_post(%s, %s)", (thread, names))
    assert count(db, "select count(*) as n from community.posts") == before
    # Mentioning someone who cannot read the category notifies nobody.
    call(
        db,
        scene.moderator,
        "select api.community_create_post(%s, 'hey @member_user')",
        (scene.ids["staff_thread"],),
    )
    assert (
        count(
            db,
            "select count(*) as n from community.notifications"
            " where user_id = %s and kind = 'mention'",
            (scene.member.id,),
        )
        == 0
    )


def test_replies_watching_and_muting(db, scene):
    thread = scene.ids["thread"]
    # The owner watches their thread: a reply to their first post is a 'reply'.
    call(
        db,
        scene.newbie,
        "select api.community_create_post(%s, 'me too', %s)",
        (thread, scene.ids["post1"]),
    )
    call(
        db,
        scene.participant,
        "select api.community_create_post(%s, 'and me', %s)",
        (thread, scene.ids["post1"]),
    )
    rows = db.execute(
        "select kind, actor_count from community.notifications where user_id = %s"
        " and group_key = %s",
        (scene.owner.id, f"thread:{thread}:reply"),
    ).fetchall()
    # member and participant: the owner blocked the newbie, who causes no notifications
    assert len(rows) == 1 and rows[0]["actor_count"] == 2
    call(db, scene.owner, "select api.community_watch('thread', %s, 'muted')", (thread,))
    call(db, scene.owner, "select api.community_mark_notifications_read()")
    call(
        db,
        scene.participant,
        "select api.community_create_post(%s, 'silent', %s)",
        (thread, scene.ids["post1"]),
    )
    assert scalar(db, scene.owner, "select api.community_count_notifications()")["unread"] == 0
    with api_error(db, "invalid_argument"):
        call(db, scene.owner, "select api.community_watch('thread', %s, 'loud')", (thread,))


def test_edit_history_solved_and_soft_delete(db, scene):
    post = scene.ids["owner_post"]
    revs = db.execute(
        "select revision, body from community.post_revisions where post_id = %s", (post,)
    ).fetchall()
    assert revs == [{"revision": 1, "body": "Thanks!"}]
    with api_error(db, "forbidden"):
        call(db, scene.member, "select api.community_edit_post(%s, 'mine now')", (post,))
    call(
        db,
        scene.owner,
        "select api.community_edit_post(%s, 'New body', 'Stack canaries')",
        (scene.ids["post1"],),
    )
    assert scalar(
        db,
        "anon",
        "select title from api.community_forum_threads where id = %s",
        (scene.ids["thread"],),
    ) == ("Stack canaries")
    call(
        db,
        scene.owner,
        "select api.community_mark_solved(%s, %s)",
        (scene.ids["thread"], scene.ids["reply"]),
    )
    assert (
        db.execute(
            "select count(*) as n from community.notifications"
            " where user_id = %s and kind = 'solved'",
            (scene.member.id,),
        ).fetchone()["n"]
        == 1
    )
    call(db, scene.owner, "select api.community_delete_post(%s)", (post,))
    assert (
        scalar(
            db, scene.owner, "select count(*) from api.community_forum_posts where id = %s", (post,)
        )
        == 0
    )
    assert scalar(
        db, scene.moderator, "select deleted from api.community_forum_posts where id = %s", (post,)
    )


def test_body_limits_links_and_rate_limits(db, scene):
    thread = scene.ids["thread"]
    before = count(db, "select count(*) as n from community.posts")
    with api_error(db, "text_too_long", "22023"):
        call(
            db, scene.member, "select api.community_create_post(%s, repeat('a', 20001))", (thread,)
        )
    with api_error(db, "invalid_argument"):
        call(db, scene.member, "select api.community_create_post(%s, '   ')", (thread,))
    links = " ".join(f"https://x{i}.example" for i in range(3))
    with api_error(db, "community_too_many_links"):  # trust 0: two links per post
        call(db, scene.newbie, "select api.community_create_post(%s, %s)", (thread, links))
    with api_error(db, "community_tag_invalid"):
        call(
            db,
            scene.member,
            "select api.community_create_thread(%s, 'T', 'B', '{BAD TAG}')",
            (scene.ids["public"],),
        )
    assert count(db, "select count(*) as n from community.posts") == before
    # Trust 0: three posts per 10 minutes, then 429 with retry_after.
    for i in range(3):
        call(db, scene.newbie, "select api.community_create_post(%s, %s)", (thread, f"post {i}"))
    with api_error(db, "rate_limited", "PT429"):
        call(db, scene.newbie, "select api.community_create_post(%s, 'one too many')", (thread,))
    # Trust 0: two new threads a day.
    fresh = create_user(db, username="fresh_user")
    call(db, fresh, "select api.community_create_thread(%s, 'a', 'b')", (scene.ids["public"],))
    call(db, fresh, "select api.community_create_thread(%s, 'c', 'd')", (scene.ids["public"],))
    with api_error(db, "rate_limited", "PT429"):
        call(db, fresh, "select api.community_create_thread(%s, 'e', 'f')", (scene.ids["public"],))


def test_trust_rises_with_activity_and_falls_with_upheld_flags(db, scene):
    user = create_user(db, username="climber")
    call(db, user, "select api.community_record_visit()")
    db.execute(
        "update community.members set days_visited = 12, posts_read = 150, likes_received = 6"
        " where user_id = %s",
        (user.id,),
    )
    assert scalar(db, user, "select api.community_record_visit()")["trust_level"] == 2
    db.execute(
        "update community.members set upheld_flags = 3, last_upheld_flag_at = now()"
        " where user_id = %s",
        (user.id,),
    )
    assert scalar(db, user, "select api.community_record_visit()")["trust_level"] == 0


def test_listing_keyset_pagination_and_search(db, scene):
    cat = scene.ids["public"]
    for i in range(5):
        call(
            db,
            scene.moderator,
            "select api.community_create_thread(%s, %s, 'heap exploitation notes')",
            (cat, f"T{i}"),
        )
    seen = []
    cursor = None
    while True:
        rows = db.execute(
            "select * from api.community_list_threads(%s, 'latest', null, %s, 2)", (cat, cursor)
        ).fetchall()
        if not rows:
            break
        seen += [r["id"] for r in rows]
        cursor = rows[-1]["next_cursor"]
    assert len(seen) == len(set(seen)) == 6
    top = db.execute(
        "select id from api.community_list_threads(null, 'top', null, null, 3)"
    ).fetchall()
    assert top[0]["id"] == scene.ids["thread"]  # the thread with replies and a reaction
    with api_error(db, "cursor_invalid"):
        db.execute(
            "select * from api.community_list_threads(%s, 'latest', null, 'garbage', 2)", (cat,)
        )
    hits = db.execute("select * from api.community_search_forum('heap exploitation')").fetchall()
    assert len(hits) == 5 and "<b>" in hits[0]["snippet"]
    # Anon search never sees members-only or staff content.
    with_anon = call(db, "anon", "select count(*) as n from api.community_search_forum('members')")
    assert with_anon["n"] == 0
    assert (
        scalar(db, scene.member, "select count(*) from api.community_search_forum('members talk')")
        == 1
    )


@pytest.mark.parametrize("query", ["", "x", None])
def test_search_validates(db, scene, query):
    with api_error(db, "invalid_argument"):
        call(db, "anon", "select * from api.community_search_forum(%s)", (query,))
