"""Community fixtures: a forum, a conversation and the people of the RLS matrices.

`scene` builds everything through the API as the users themselves (so every trigger,
counter and notification path runs), then returns ids for the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from flagship.testing.harness import User, as_user, create_user


def call(db, who, sql: str, params: Any = None):
    """Run one statement as `who` and return the first row (or None)."""
    with as_user(db, who):
        cur = db.execute(sql, params)
        return cur.fetchone() if cur.description else None


def scalar(db, who, sql: str, params: Any = None):
    row = call(db, who, sql, params)
    return None if row is None else next(iter(row.values()))


def set_trust(db, user: User, level: int) -> None:
    db.execute(
        "insert into community.members (user_id, trust_level) values (%s, %s)"
        " on conflict (user_id) do update set trust_level = excluded.trust_level",
        (user.id, level),
    )


@dataclass
class Scene:
    owner: User  # the author of the thread and posts, participant of the conversation
    member: User  # an established member (trust 2), not involved
    newbie: User  # a trust-0 member
    participant: User  # the owner's conversation partner
    moderator: User
    admin: User
    ids: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str):
        if name in ("anon", "service_role"):
            return name
        return getattr(self, name)


def new_category(db, admin: User, slug: str, read: str = "everyone", post: str = "members"):
    return scalar(
        db,
        admin,
        "select api.community_save_category(%s, %s, null, %s, %s)",
        (slug, slug.title(), read, post),
    )


@pytest.fixture
def scene(db, cast) -> Scene:
    newbie = create_user(db, username="newbie_user")
    participant = create_user(db, username="partner_user")
    s = Scene(cast.owner, cast.member, newbie, participant, cast.moderator, cast.admin)
    for user in (s.owner, s.member, s.participant):
        set_trust(db, user, 2)
    set_trust(db, s.newbie, 0)
    ids = s.ids
    ids["public"] = new_category(db, s.admin, "general")
    ids["members_cat"] = new_category(db, s.admin, "members-only", "members", "members")
    ids["pro_cat"] = new_category(db, s.admin, "pro-lounge", "pro", "pro")
    ids["staff_cat"] = new_category(db, s.admin, "staff-room", "staff", "staff")
    ids["announce"] = new_category(db, s.admin, "announcements", "everyone", "staff")
    ids["thread"] = scalar(
        db,
        s.owner,
        "select api.community_create_thread(%s, 'Buffer overflows', 'How do canaries work?', "
        "'{pwn}')",
        (ids["public"],),
    )
    ids["post1"] = scalar(
        db,
        s.owner,
        "select id from community.posts where thread_id = %s and post_number = 1",
        (ids["thread"],),
    )
    ids["reply"] = scalar(
        db,
        s.member,
        "select api.community_create_post(%s, 'They detect stack smashing.', %s)",
        (ids["thread"], ids["post1"]),
    )
    ids["owner_post"] = scalar(
        db, s.owner, "select api.community_create_post(%s, 'Thanks!')", (ids["thread"],)
    )
    ids["members_thread"] = scalar(
        db,
        s.owner,
        "select api.community_create_thread(%s, 'Members talk', 'Only for members')",
        (ids["members_cat"],),
    )
    ids["staff_thread"] = scalar(
        db,
        s.moderator,
        "select api.community_create_thread(%s, 'Staff talk', 'Only for staff')",
        (ids["staff_cat"],),
    )
    call(db, s.member, "select api.community_react(%s, 'like')", (ids["owner_post"],))
    call(db, s.owner, "select api.community_edit_post(%s, 'Thanks a lot!')", (ids["owner_post"],))
    call(db, s.owner, "select api.community_watch('category', %s, 'watching')", (ids["public"],))
    ids["message"] = scalar(
        db,
        s.owner,
        "select api.community_start_conversation(array[%s]::uuid[], 'Hello partner')",
        (s.participant.id,),
    )
    ids["conversation"] = db.execute(
        "select conversation_id from community.messages where id = %s", (ids["message"],)
    ).fetchone()["conversation_id"]
    ids["reply_message"] = scalar(
        db,
        s.participant,
        "select api.community_send_message(%s, 'Hi owner')",
        (ids["conversation"],),
    )
    call(db, s.owner, "select api.community_block_user(%s)", (s.newbie.id,))
    # A flag by the member on the owner's post, and a moderation action about the owner.
    ids["flag"] = scalar(
        db,
        s.member,
        "select api.community_report('post', %s, 'off_topic')",
        (str(ids["owner_post"]),),
    )
    ids["review_item"] = db.execute(
        "select review_item_id from community.flags where id = %s", (ids["flag"],)
    ).fetchone()["review_item_id"]
    ids["action"] = scalar(
        db,
        s.moderator,
        "select api.community_moderate('lock', 'thread', %s, 'cooling down')",
        (str(ids["members_thread"]),),
    )
    ids["appeal"] = scalar(
        db, s.owner, "select api.community_appeal(%s, 'Please unlock it')", (ids["action"],)
    )
    ids["article"] = scalar(
        db,
        s.owner,
        "select api.community_save_contribution('article', 'Intro to ROP', 'Gadgets...')",
    )
    call(db, s.owner, "select api.community_submit_contribution(%s)", (ids["article"],))
    ids["draft"] = scalar(
        db,
        s.owner,
        "select api.community_save_contribution('challenge_proposal', 'Heap chall', 'tcache',"
        ' \'{"difficulty": "hard"}\')',
    )
    call(
        db,
        s.moderator,
        "select api.community_review_contribution(%s, 'changes_requested', 'Add a diagram')",
        (ids["article"],),
    )
    return s
