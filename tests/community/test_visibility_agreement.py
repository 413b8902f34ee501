"""One rule for hidden and deleted forum content, several copies: the definer RPCs call
private.community_content_visible, while the threads/posts policies (keyset listings, thread
pages) and api.community_search_forum keep inline copies for the planner. For every role,
each copy must show exactly what the rule shows."""

from __future__ import annotations

import psycopg
import pytest

from flagship.testing.harness import as_user

from .conftest import scalar

ROLES = ["anon", "member", "newbie", "owner", "participant", "moderator", "admin"]
WORD = "zebra"  # in every body below and nowhere else, so search finds exactly these


@pytest.fixture
def forum(db, scene):
    """Threads and posts in every state: visible, hidden, deleted, hidden without author."""
    s, ids = scene, scene.ids
    created: dict[str, int] = {}
    threads: dict[str, int] = {}

    def thread(who, category, name):
        created[name] = threads[name] = scalar(
            db,
            who,
            "select api.community_create_thread(%s, %s, %s)",
            (category, name.replace("_", " ").title(), f"{name} {WORD}"),
        )
        return created[name]

    def post(who, thread_id, name):
        created[name] = scalar(
            db,
            who,
            "select api.community_create_post(%s, %s)",
            (thread_id, f"{name} {WORD}"),
        )
        return created[name]

    open_thread = thread(s.owner, ids["public"], "open_thread")
    for name in ("hidden_thread", "deleted_thread", "hidden_orphan_thread"):
        thread(s.owner, ids["public"], name)
    thread(s.owner, ids["members_cat"], "members_thread_2")
    thread(s.moderator, ids["staff_cat"], "staff_thread_2")
    post(s.member, open_thread, "visible_post")
    for name in ("hidden_post", "deleted_post", "hidden_orphan_post", "hidden_then_deleted"):
        post(s.owner, open_thread, name)
    post(s.member, open_thread, "hidden_member_post")
    post(s.member, created["hidden_thread"], "post_in_hidden_thread")
    db.execute(
        "update community.threads set hidden_at = now() where id = any(%s)",
        ([created["hidden_thread"], created["hidden_orphan_thread"]],),
    )
    db.execute(
        "update community.threads set deleted_at = now() where id = %s",
        (created["deleted_thread"],),
    )
    db.execute(
        "update community.posts set hidden_at = now() where id = any(%s)",
        (
            [
                created[n]
                for n in (
                    "hidden_post",
                    "hidden_orphan_post",
                    "hidden_member_post",
                    "hidden_then_deleted",
                )
            ],
        ),
    )
    db.execute(
        "update community.posts set deleted_at = now() where id = any(%s)",
        ([created["deleted_post"], created["hidden_then_deleted"]],),
    )
    # Authors who erased their account: nobody is "the author" of these any more.
    db.execute(
        "update community.threads set author_id = null where id = %s",
        (created["hidden_orphan_thread"],),
    )
    db.execute(
        "update community.posts set author_id = null where id = %s",
        (created["hidden_orphan_post"],),
    )
    posts = {k: v for k, v in created.items() if k not in threads}
    first = db.execute(
        "select id from community.posts where post_number = 1 and thread_id = any(%s)",
        (list(threads.values()),),
    ).fetchall()
    return {
        "threads": threads,
        "posts": posts,
        "with_word": set(posts.values()) | {r["id"] for r in first},
    }


def uid(scene, role):
    return None if role == "anon" else scene.get(role).id


def visible_by_rule(db, fn: str, ids: list[int], user) -> set[int]:
    """Ids the definer check (private.community_visible_thread / _post) lets `user` see."""
    seen = set()
    for i in ids:
        db.execute("savepoint rule")
        try:
            db.execute(f"select private.{fn}(%s, %s)", (i, user))
            seen.add(i)
        except psycopg.Error as exc:
            assert exc.diag.message_hint == "not_found", exc
        db.execute("rollback to savepoint rule")
    return seen


def rows(db, who, sql: str, params=None) -> set:
    with as_user(db, who):
        return {next(iter(r.values())) for r in db.execute(sql, params).fetchall()}


@pytest.mark.parametrize("role", ROLES)
def test_policies_listings_and_search_agree_with_the_rule(db, scene, forum, role):
    who, user = scene.get(role), uid(scene, role)
    all_threads = [r["id"] for r in db.execute("select id from community.threads").fetchall()]
    all_posts = [r["id"] for r in db.execute("select id from community.posts").fetchall()]

    threads = visible_by_rule(db, "community_visible_thread", all_threads, user)
    assert rows(db, who, "select id from api.community_forum_threads") == threads
    listed = rows(
        db, who, "select id from api.community_list_threads(null, 'latest', null, null, 100)"
    )
    assert listed == threads

    posts = visible_by_rule(db, "community_visible_post", all_posts, user)
    assert rows(db, who, "select id from api.community_forum_posts") == posts
    paged = set()
    for t in threads:
        paged |= rows(db, who, "select id from api.community_list_thread_posts(%s, 0, 100)", (t,))
    assert paged == posts

    found = rows(db, who, "select post_id from api.community_search_forum(%s, null, 50)", (WORD,))
    assert found == posts & forum["with_word"]
    # Every state is exercised: staff find deleted posts, nobody else does.
    assert (forum["posts"]["deleted_post"] in found) == (role in ("moderator", "admin"))
    assert (forum["posts"]["hidden_post"] in found) == (role in ("owner", "moderator", "admin"))


def test_an_orphaned_hidden_post_is_not_shown_to_anonymous_visitors(db, scene, forum):
    """The rule compares authors with `=`: a hidden post without author is nobody's."""
    post, thread = forum["posts"]["hidden_orphan_post"], forum["threads"]["hidden_orphan_thread"]
    assert visible_by_rule(db, "community_visible_post", [post], None) == set()
    assert visible_by_rule(db, "community_visible_thread", [thread], None) == set()
