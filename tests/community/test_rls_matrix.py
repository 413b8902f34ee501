"""RLS matrix for every community object: each role x each object x each action.

Roles: anon, an established member (trust 2), a trust-0 member (newbie), the author of the
content (owner; also a participant of the conversation), the other participant, moderator,
admin, service_role. Outcomes: "yes" (rows of the scene visible / the call worked), "no"
(allowed to ask, nothing visible or changed), "deny" (42501), or an API error code.
"""

from __future__ import annotations

import pytest

from flagship.testing.harness import matrix_outcome

ROLES = ["anon", "member", "newbie", "owner", "participant", "moderator", "admin", "service_role"]


def row(*outcomes):
    return dict(zip(ROLES, outcomes, strict=True))


ALL_YES = row(*["yes"] * 8)
ALL_DENY = row(*["deny"] * 8)
SIGNED_IN = row("deny", "yes", "yes", "yes", "yes", "yes", "yes", "deny")
OWNER_ONLY = row("deny", "no", "no", "yes", "no", "no", "no", "yes")
PARTICIPANTS = row("deny", "no", "no", "yes", "yes", "no", "no", "yes")
STAFF = row("deny", "no", "no", "no", "no", "yes", "yes", "yes")
STAFF_CALL = row("deny", "deny", "deny", "deny", "deny", "yes", "yes", "deny")

SELECT = {
    "community.categories": ("slug = 'general'", ALL_YES),
    "api.community_forum_categories": ("slug = 'general'", ALL_YES),
    "community.categories ": (
        "slug = 'members-only'",
        row("no", "yes", "yes", "yes", "yes", "yes", "yes", "yes"),
    ),
    "community.categories  ": (
        "slug = 'pro-lounge'",  # has_entitlement is false for everyone until payments
        row("no", "no", "no", "no", "no", "yes", "yes", "yes"),
    ),
    "api.community_forum_categories ": ("slug = 'staff-room'", STAFF | {"anon": "no"}),
    "community.threads": ("id = %(thread)s", ALL_YES),
    "api.community_forum_threads": ("id = %(thread)s", ALL_YES),
    "api.community_forum_threads ": (
        "id = %(members_thread)s",
        row("no", "yes", "yes", "yes", "yes", "yes", "yes", "yes"),
    ),
    "community.threads ": ("id = %(staff_thread)s", STAFF | {"anon": "no"}),
    "community.posts": ("thread_id = %(thread)s", ALL_YES),
    "api.community_forum_posts": ("thread_id = %(thread)s", ALL_YES),
    "api.community_forum_posts ": ("thread_id = %(staff_thread)s", STAFF | {"anon": "no"}),
    "community.post_revisions": ("post_id = %(owner_post)s", ALL_YES),
    "api.community_post_revisions": ("post_id = %(owner_post)s", ALL_YES),
    "community.reactions": ("post_id = %(owner_post)s", ALL_YES),
    "api.community_post_reactions": ("post_id = %(owner_post)s", ALL_YES),
    "community.thread_watches": ("user_id = %(owner)s", OWNER_ONLY),
    "community.category_watches": ("user_id = %(owner)s", OWNER_ONLY),
    "community.thread_reads": ("user_id = %(owner)s", OWNER_ONLY | {"anon": "no"}),
    "community.notifications": ("user_id = %(owner)s", OWNER_ONLY),
    "api.community_notifications": ("kind = 'reaction'", OWNER_ONLY | {"service_role": "yes"}),
    "community.members": ("user_id = %(owner)s", ALL_YES),
    "api.community_members": ("user_id = %(owner)s", ALL_YES),
    "community.trust_levels": ("true", ALL_YES),
    "api.community_trust_levels": ("true", ALL_YES),
    "community.blocks": ("blocker_id = %(owner)s", OWNER_ONLY),
    "api.community_my_blocks": ("blocked_id = %(newbie)s", OWNER_ONLY),
    "community.conversations": ("id = %(conversation)s", PARTICIPANTS),
    "api.community_my_conversations": (
        "id = %(conversation)s",
        PARTICIPANTS | {"service_role": "no"},
    ),
    "community.conversation_participants": ("conversation_id = %(conversation)s", PARTICIPANTS),
    "api.community_conversation_participants": ("conversation_id = %(conversation)s", PARTICIPANTS),
    "community.messages": ("conversation_id = %(conversation)s", PARTICIPANTS),
    "api.community_conversation_messages": ("conversation_id = %(conversation)s", PARTICIPANTS),
    "community.flag_reasons": ("true", ALL_YES),
    "api.community_report_reasons": ("true", ALL_YES),
    "community.flags": (
        "review_item_id = %(review_item)s",
        row("deny", "yes", "no", "no", "no", "yes", "yes", "yes"),
    ),
    "api.community_my_reports": (
        "target_id = %(owner_post)s::text",
        row("deny", "yes", "no", "no", "no", "no", "no", "no"),
    ),
    "community.review_items": ("id = %(review_item)s", STAFF),
    "api.community_review_queue": ("id = %(review_item)s", STAFF),
    "community.review_history": ("review_item_id = %(review_item)s", STAFF),
    "api.community_review_history": ("review_item_id = %(review_item)s", STAFF),
    "community.moderation_actions": (
        "id = %(action)s",
        row("deny", "no", "no", "yes", "no", "yes", "yes", "yes"),
    ),
    "api.community_moderation_actions": (
        "id = %(action)s",
        row("deny", "no", "no", "yes", "no", "yes", "yes", "yes"),
    ),
    "community.appeals": (
        "id = %(appeal)s",
        row("deny", "no", "no", "yes", "no", "yes", "yes", "yes"),
    ),
    "api.community_appeals": (
        "id = %(appeal)s",
        row("deny", "no", "no", "yes", "no", "yes", "yes", "yes"),
    ),
    "community.contributions": (
        "id = %(article)s",
        row("no", "no", "no", "yes", "no", "yes", "yes", "yes"),
    ),
    "api.community_contributions": (
        "id = %(draft)s",  # drafts: only their author
        row("no", "no", "no", "yes", "no", "no", "no", "yes"),
    ),
    "community.contribution_comments": (
        "contribution_id = %(article)s",
        row("deny", "no", "no", "yes", "no", "yes", "yes", "yes"),
    ),
    "api.community_contribution_comments": (
        "contribution_id = %(article)s",
        row("deny", "no", "no", "yes", "no", "yes", "yes", "yes"),
    ),
}

TABLES = [
    "categories", "threads", "posts", "post_revisions", "reactions", "thread_watches",
    "category_watches", "thread_reads", "notifications", "members", "trust_levels", "blocks",
    "conversations", "conversation_participants", "messages", "flag_reasons", "flags",
    "review_items", "review_history", "moderation_actions", "appeals", "contributions",
    "contribution_comments",
]  # fmt: skip
# Clients have no write grants on any community table: every change is an RPC.
WRITES = {
    "community.posts": {
        "insert": "insert into community.posts (thread_id, post_number, author_id, body)"
        " values (%(thread)s, 99, %(owner)s, 'x')",
        "update": "update community.posts set body = 'pwned' where thread_id = %(thread)s",
        "delete": "delete from community.posts where thread_id = %(thread)s",
    },
    "community.threads": {
        "insert": "insert into community.threads (category_id, title) values (%(public)s, 'x')",
        "update": "update community.threads set locked_at = null where id = %(thread)s",
        "delete": "delete from community.threads where id = %(thread)s",
    },
    "community.messages": {
        "insert": "insert into community.messages (conversation_id, sender_id, body)"
        " values (%(conversation)s, %(owner)s, 'x')",
        "update": "update community.messages set body = 'x' where conversation_id"
        " = %(conversation)s",
        "delete": "delete from community.messages where conversation_id = %(conversation)s",
    },
    "community.conversation_participants": {
        "insert": "insert into community.conversation_participants (conversation_id, user_id)"
        " values (%(conversation)s, %(member)s)",
        "update": "update community.conversation_participants set left_at = now()",
        "delete": "delete from community.conversation_participants",
    },
    "community.members": {
        "insert": "insert into community.members (user_id, trust_level)"
        " values (gen_random_uuid(), 4)",
        "update": "update community.members set trust_level = 4, silenced_until = null",
        "delete": "delete from community.members",
    },
    "community.notifications": {
        "insert": "insert into community.notifications (user_id, kind, category)"
        " values (%(owner)s, 'reply', 'replies')",
        "update": "update community.notifications set read_at = now()",
        "delete": "delete from community.notifications",
    },
    "community.review_items": {
        "update": "update community.review_items set status = 'disagreed'",
        "delete": "delete from community.review_items",
    },
    "community.flags": {
        "insert": "insert into community.flags (review_item_id, target_type, target_id,"
        " flagger_id, reason, weight) values (%(review_item)s, 'post', '1', %(owner)s,"
        " 'spam', 99)",
        "delete": "delete from community.flags",
    },
    "community.contributions": {
        "update": "update community.contributions set status = 'approved'",
    },
    "community.categories": {
        "update": "update community.categories set read_level = 'everyone'",
    },
} | {
    f"community.{t}": {"delete": f"delete from community.{t}"}
    for t in TABLES
    if f"community.{t}"
    not in (
        "community.posts",
        "community.threads",
        "community.messages",
        "community.conversation_participants",
        "community.members",
        "community.notifications",
        "community.review_items",
        "community.flags",
    )
}

EXECUTE = {
    "api.community_create_post": (
        "select api.community_create_post(%(thread)s, 'more')",
        SIGNED_IN,
    ),
    "api.community_create_thread": (
        "select api.community_create_thread(%(public)s, 'New', 'Body')",
        SIGNED_IN,
    ),
    "api.community_create_thread (staff posting)": (
        "select api.community_create_thread(%(announce)s, 'News', 'Body')",
        row(
            "deny",
            "community_cannot_post",
            "community_cannot_post",
            "community_cannot_post",
            "community_cannot_post",
            "yes",
            "yes",
            "deny",
        ),
    ),
    "api.community_create_post (staff category)": (
        "select api.community_create_post(%(staff_thread)s, 'x')",
        row("deny", "not_found", "not_found", "not_found", "not_found", "yes", "yes", "deny"),
    ),
    "api.community_edit_post": (
        "select api.community_edit_post(%(owner_post)s, 'edited')",
        row("deny", "deny", "deny", "yes", "deny", "yes", "yes", "deny"),
    ),
    "api.community_delete_post": (
        "select api.community_delete_post(%(owner_post)s)",
        row("deny", "deny", "deny", "yes", "deny", "deny", "deny", "deny"),
    ),
    "api.community_react": (
        "select api.community_react(%(owner_post)s, 'love')",
        row(
            "deny",
            "community_already_reacted",
            "yes",
            "invalid_argument",
            "yes",
            "yes",
            "yes",
            "deny",
        ),
    ),
    "api.community_unreact": (
        "select api.community_unreact(%(owner_post)s)",
        row("deny", "yes", "not_found", "not_found", "not_found", "not_found", "not_found", "deny"),
    ),
    "api.community_mark_solved": (
        "select api.community_mark_solved(%(thread)s, %(reply)s)",
        row("deny", "deny", "deny", "yes", "deny", "yes", "yes", "deny"),
    ),
    "api.community_watch": ("select api.community_watch('thread', %(thread)s, 'muted')", SIGNED_IN),
    "api.community_mark_thread_read": (
        "select api.community_mark_thread_read(%(thread)s, 3)",
        SIGNED_IN,
    ),
    "api.community_list_threads": ("select * from api.community_list_threads(%(public)s)", ALL_YES),
    "api.community_list_threads (members)": (
        "select * from api.community_list_threads(%(members_cat)s)",
        row("no", "yes", "yes", "yes", "yes", "yes", "yes", "yes"),
    ),
    "api.community_list_thread_posts": (
        "select * from api.community_list_thread_posts(%(thread)s)",
        ALL_YES,
    ),
    "api.community_list_thread_posts (staff)": (
        "select * from api.community_list_thread_posts(%(staff_thread)s)",
        row(
            "not_found",
            "not_found",
            "not_found",
            "not_found",
            "not_found",
            "yes",
            "yes",
            "yes",
        ),
    ),
    "api.community_search_forum": ("select * from api.community_search_forum('canaries')", ALL_YES),
    "api.community_search_forum (staff)": (
        "select * from api.community_search_forum('staff talk')",
        row("no", "no", "no", "no", "no", "yes", "yes", "no"),
    ),
    "api.community_save_category": ("select api.community_save_category('x-cat', 'X')", STAFF_CALL),
    "api.community_count_notifications": ("select api.community_count_notifications()", SIGNED_IN),
    "api.community_mark_notifications_read": (
        "select api.community_mark_notifications_read()",
        SIGNED_IN,
    ),
    "api.community_record_visit": ("select api.community_record_visit()", SIGNED_IN),
    "api.community_block_user": (
        "select api.community_block_user(%(member)s)",
        row("deny", "invalid_argument", "yes", "yes", "yes", "yes", "yes", "deny"),
    ),
    "api.community_start_conversation": (
        "select api.community_start_conversation(array[%(member)s]::uuid[], 'hi')",
        row("deny", "invalid_argument", "yes", "yes", "yes", "yes", "yes", "deny"),
    ),
    "api.community_start_conversation (blocked)": (
        "select api.community_start_conversation(array[%(owner)s]::uuid[], 'hi')",
        row("deny", "yes", "community_blocked", "invalid_argument", "yes", "yes", "yes", "deny"),
    ),
    "api.community_send_message": (
        "select api.community_send_message(%(conversation)s, 'hello')",
        row(
            "deny",
            "community_not_participant",
            "community_not_participant",
            "yes",
            "yes",
            "community_not_participant",
            "community_not_participant",
            "deny",
        ),
    ),
    "api.community_leave_conversation": (
        "select api.community_leave_conversation(%(conversation)s)",
        row(
            "deny",
            "community_not_participant",
            "community_not_participant",
            "yes",
            "yes",
            "community_not_participant",
            "community_not_participant",
            "deny",
        ),
    ),
    "api.community_count_unread_messages": (
        "select api.community_count_unread_messages()",
        SIGNED_IN,
    ),
    "api.community_report": (
        "select api.community_report('post', %(owner_post)s::text, 'spam')",
        row(
            "deny",
            "community_already_flagged",
            "yes",
            "community_flag_own",
            "yes",
            "yes",
            "yes",
            "deny",
        ),
    ),
    "api.community_report (message)": (
        "select api.community_report('message', %(reply_message)s::text, 'spam')",
        # Staff outside the conversation cannot report it (they would read it in the queue).
        row(
            "deny",
            "not_found",
            "not_found",
            "yes",
            "community_flag_own",
            "not_found",
            "not_found",
            "deny",
        ),
    ),
    "api.community_decide_review": (
        "select api.community_decide_review(%(review_item)s, 'defer',"
        " (select version from community.review_items where id = %(review_item)s))",
        STAFF_CALL,
    ),
    "api.community_moderate": (
        "select api.community_moderate('hide', 'post', %(reply)s::text, 'matrix test')",
        STAFF_CALL,
    ),
    "api.community_moderate (suspend)": (
        "select api.community_moderate('suspend', 'user', %(newbie)s::text, 'matrix test',"
        " now() + interval '1 day')",
        STAFF_CALL,
    ),
    "api.community_get_moderation_stats": (
        "select api.community_get_moderation_stats()",
        STAFF_CALL,
    ),
    "api.community_set_trust_level": (
        "select api.community_set_trust_level(%(member)s, 4, 'leader now')",
        STAFF_CALL,
    ),
    "api.community_appeal": (
        "select api.community_appeal(%(action)s, 'again')",
        row(
            "deny",
            "not_found",
            "not_found",
            "community_appeal_exists",
            "not_found",
            "not_found",
            "not_found",
            "deny",
        ),
    ),
    "api.community_decide_appeal": (
        "select api.community_decide_appeal(%(appeal)s, true, 'fair')",
        STAFF_CALL,
    ),
    "api.community_save_contribution": (
        "select api.community_save_contribution('article', 'T', 'B')",
        SIGNED_IN,
    ),
    "api.community_submit_contribution": (
        "select api.community_submit_contribution(%(draft)s)",
        row("deny", "not_found", "not_found", "yes", "not_found", "not_found", "not_found", "deny"),
    ),
    "api.community_review_contribution": (
        "select api.community_review_contribution(%(article)s, 'approved')",
        row(
            "deny",
            "deny",
            "deny",
            "deny",
            "deny",
            "community_transition_invalid",
            "community_transition_invalid",
            "deny",
        ),
    ),
    "api.community_comment_contribution": (
        "select api.community_comment_contribution(%(article)s, 'done')",
        row("deny", "not_found", "not_found", "yes", "not_found", "yes", "yes", "deny"),
    ),
    "private.notify": (
        "select private.notify(%(owner)s, 'ctf.solved')",
        row(*["deny"] * 7, "yes"),
    ),
    "private.community_enqueue_digests": (
        "select private.community_enqueue_digests()",
        row(*["deny"] * 7, "yes"),
    ),
    "private.community_set_event_end": (
        "select private.community_set_event_end('x', now())",
        row(*["deny"] * 7, "yes"),
    ),
    "private.erase_community": ("select private.erase_community(%(owner)s)", ALL_DENY),
    "private.community_actor": ("select private.community_actor()", ALL_DENY),
}


def params(scene) -> dict:
    p = dict(scene.ids)
    for name in ("owner", "member", "newbie", "participant", "moderator", "admin"):
        p[name] = getattr(scene, name).id
    return p


# 42501 refusals that count as "deny" in this matrix
DENIED = frozenset({None, "not_authenticated", "forbidden"})


def outcome(db, who, sql, params, *, count_rows=False) -> str:
    return matrix_outcome(db, who, sql, params, count_rows=count_rows, denied=DENIED)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("obj", sorted(SELECT))
def test_select(db, scene, obj, role):
    where, expected = SELECT[obj]
    sql = f"select count(*) as n from {obj.strip()} where {where}"
    got = outcome(db, scene.get(role), sql, params(scene), count_rows=True)
    assert got == expected[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("obj", "action"), sorted((o, a) for o, actions in WRITES.items() for a in actions)
)
def test_write(db, scene, obj, action, role):
    got = outcome(db, scene.get(role), WRITES[obj][action], params(scene))
    assert got == "deny", f"{role} could {action} {obj}: {got}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("fn", sorted(EXECUTE))
def test_execute(db, scene, fn, role):
    sql, expected = EXECUTE[fn]
    got = outcome(db, scene.get(role), sql, params(scene))
    assert got == expected[role]
