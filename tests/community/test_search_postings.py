"""One-word forum search reads community.post_terms (the postings of post bodies) instead of
the GIN index: the postings follow every insert, edit and deletion of a post, and a one-word
query finds exactly what the same word through the GIN path finds, for every role."""

from __future__ import annotations

import pytest

from flagship.testing.harness import one_row, query, scalar

ROLES = ["anon", "newbie", "member", "owner", "moderator", "admin"]


EXPECTED = """
    select t, p.id, private.community_term_rank(p.body_tsv, th.title_tsv, t)
    from community.posts as p
    join community.threads as th on th.id = p.thread_id,
    unnest(tsvector_to_array(p.body_tsv || case when p.post_number = 1
        then th.title_tsv else ''::tsvector end)) as t
"""


def postings_disagree(db) -> list:
    """Rows in one of (postings, lexemes of bodies and first posts' titles with their rank)
    but not the other."""
    return db.execute(
        f"""
        (select term, post_id, rank from community.post_terms except {EXPECTED})
        union all
        ({EXPECTED} except select term, post_id, rank from community.post_terms)
        """
    ).fetchall()


def found(db, who, q: str) -> list[int]:
    return [
        r["post_id"]
        for r in query(
            db, who, "select post_id from api.community_search_forum(%s, null, 50)", (q,)
        )
    ]


def test_postings_follow_posts_through_insert_edit_and_delete(db, scene):
    s = scene
    post = scalar(
        db,
        s.member,
        "select api.community_create_post(%s, 'Quokkas smash stacks')",
        (s.ids["thread"],),
    )
    assert postings_disagree(db) == []
    assert post in found(db, "anon", "quokka")
    one_row(db, s.member, "select api.community_edit_post(%s, 'Wombats smash heaps')", (post,))
    assert postings_disagree(db) == []
    assert post not in found(db, "anon", "quokkas")
    assert post in found(db, "anon", "wombat")
    # Updates that leave the body alone (reactions, moderation) keep the postings as they are.
    one_row(db, s.owner, "select api.community_react(%s, 'like')", (post,))
    db.execute("update community.posts set hidden_at = now() where id = %s", (post,))
    assert postings_disagree(db) == []
    assert post not in found(db, "anon", "wombat")  # hidden: only its author and staff
    assert post in found(db, s.member, "wombat")
    db.execute("delete from community.threads where id = %s", (s.ids["thread"],))
    assert postings_disagree(db) == []
    assert (
        scalar(
            db,
            "service_role",
            "select count(*) from community.post_terms where post_id = %s",
            (post,),
        )
        == 0
    )


def test_title_postings_follow_the_title_and_the_thread(db, scene):
    s = scene
    thread = scalar(
        db,
        s.owner,
        "select api.community_create_thread(%s, 'Platypus tricks', 'Body text here')",
        (s.ids["public"],),
    )
    first = scalar(db, s.owner, "select id from community.posts where thread_id = %s", (thread,))
    reply = scalar(
        db, s.owner, "select api.community_create_post(%s, 'A platypus reply')", (thread,)
    )
    assert postings_disagree(db) == []
    # the reply's body matches and the title lifts it: both found, the title match first
    assert found(db, "anon", "platypus") == found(db, "anon", "platypus platypus")
    assert set(found(db, "anon", "platypus")) == {first, reply}
    db.execute("update community.threads set title = 'Echidna tricks' where id = %s", (thread,))
    assert postings_disagree(db) == []  # ranks of every post of the thread follow the title
    assert found(db, "anon", "platypus") == [reply]
    assert found(db, "anon", "echidna") == [first]
    db.execute("delete from community.threads where id = %s", (thread,))
    assert postings_disagree(db) == []
    assert (
        scalar(
            db,
            "service_role",
            "select count(*) from community.post_terms where post_id = %s",
            (first,),
        )
        == 0
    )


@pytest.mark.parametrize("role", ROLES)
def test_one_word_search_agrees_with_the_full_text_path(db, scene, role):
    """`w` takes the postings, `w w` the GIN index (same query, two lexemes): same results."""
    s = scene
    thread = scalar(
        db,
        s.owner,
        "select api.community_create_thread(%s, 'Canary stories', 'Canary canary leaks')",
        (s.ids["public"],),
    )
    for body in ("A canary in a members room", "stack smashing again"):
        scalar(db, s.owner, "select api.community_create_post(%s, %s)", (thread, body))
    scalar(
        db,
        s.owner,
        "select api.community_create_thread(%s, 'Members canary', 'canary for members')",
        (s.ids["members_cat"],),
    )
    db.execute("update community.posts set deleted_at = now() where body = 'stack smashing again'")
    who = scene.get(role)
    for word in ("canary", "canaries", "stack", "members", "smashing", "thanks", "nothinghere"):
        assert found(db, who, word) == found(db, who, f"{word} {word}"), (role, word)
    assert found(db, who, "canary"), role


def test_phrase_negation_and_or_queries_stay_on_the_full_text_path(db, scene):
    s = scene
    thread = scalar(
        db,
        s.owner,
        "select api.community_create_thread(%s, 'Notes', 'heap spray works')",
        (s.ids["public"],),
    )
    a = scalar(db, s.owner, "select id from community.posts where thread_id = %s", (thread,))
    b = scalar(db, s.owner, "select api.community_create_post(%s, 'spray the heap')", (thread,))
    assert set(found(db, "anon", '"heap spray"')) == {a}
    assert set(found(db, "anon", "spray -works")) == {b}
    assert {a, b} <= set(found(db, "anon", "works or heap"))
