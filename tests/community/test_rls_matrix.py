"""RLS matrix for every community object: each role x each object x each action.

Roles: anon, an established member (trust 2), a trust-0 member (newbie), the author of the
content (owner; also a participant of the conversation), the other participant, moderator,
admin, service_role. Outcomes: "yes" (rows of the scene visible / the call worked), "no"
(allowed to ask, nothing visible or changed), "deny" (42501), or an API error code.
"""

from __future__ import annotations

import pytest

from flagship.testing.harness import scalar
from flagship.testing.matrix import Matrix

ROLES = ["anon", "member", "newbie", "owner", "participant", "moderator", "admin", "service_role"]
# 42501 refusals that count as "deny": bare privilege/policy refusals and the signed-in and
# staff checks. Clients have no write grants on any community table, so every write is "deny".
M = Matrix(
    ["community"],
    ROLES,
    denied=frozenset({None, "not_authenticated", "forbidden"}),
    write_refused="deny",
)
ALL_YES = M.same("yes")
ALL_DENY = M.same("deny")
SIGNED_IN = M.cells(
    anon="deny",
    member="yes",
    newbie="yes",
    owner="yes",
    participant="yes",
    moderator="yes",
    admin="yes",
    service_role="deny",
)
OWNER_ONLY = M.cells(
    anon="deny",
    member="no",
    newbie="no",
    owner="yes",
    participant="no",
    moderator="no",
    admin="no",
    service_role="yes",
)
PARTICIPANTS = M.cells(
    anon="deny",
    member="no",
    newbie="no",
    owner="yes",
    participant="yes",
    moderator="no",
    admin="no",
    service_role="yes",
)
STAFF = M.cells(
    anon="deny",
    member="no",
    newbie="no",
    owner="no",
    participant="no",
    moderator="yes",
    admin="yes",
    service_role="yes",
)
STAFF_CALL = M.cells(
    anon="deny",
    member="deny",
    newbie="deny",
    owner="deny",
    participant="deny",
    moderator="yes",
    admin="yes",
    service_role="deny",
)

M.select("community.categories", "slug = 'general'", ALL_YES)
M.select("api.community_forum_categories", "slug = 'general'", ALL_YES)
M.select(
    "community.categories",
    "slug = 'members-only'",
    M.cells(
        anon="no",
        member="yes",
        newbie="yes",
        owner="yes",
        participant="yes",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
    label="members-only",
)
# has_entitlement is false for everyone until payments
M.select(
    "community.categories",
    "slug = 'pro-lounge'",
    M.cells(
        anon="no",
        member="no",
        newbie="no",
        owner="no",
        participant="no",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
    label="pro-lounge",
)
M.select(
    "api.community_forum_categories",
    "slug = 'staff-room'",
    STAFF | {"anon": "no"},
    label="staff-room",
)
M.select("community.threads", "id = %(thread)s", ALL_YES)
M.select("api.community_forum_threads", "id = %(thread)s", ALL_YES)
M.select(
    "api.community_forum_threads",
    "id = %(members_thread)s",
    M.cells(
        anon="no",
        member="yes",
        newbie="yes",
        owner="yes",
        participant="yes",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
    label="members_thread",
)
M.select("community.threads", "id = %(staff_thread)s", STAFF | {"anon": "no"}, label="staff_thread")
M.select("community.posts", "thread_id = %(thread)s", ALL_YES)
M.select("api.community_forum_posts", "thread_id = %(thread)s", ALL_YES)
M.select(
    "api.community_forum_posts",
    "thread_id = %(staff_thread)s",
    STAFF | {"anon": "no"},
    label="staff_thread",
)
M.select("community.post_revisions", "post_id = %(owner_post)s", ALL_YES)
M.select("api.community_post_revisions", "post_id = %(owner_post)s", ALL_YES)
M.select("community.reactions", "post_id = %(owner_post)s", ALL_YES)
M.select("api.community_post_reactions", "post_id = %(owner_post)s", ALL_YES)
M.select("community.thread_watches", "user_id = %(owner)s", OWNER_ONLY)
M.select("community.category_watches", "user_id = %(owner)s", OWNER_ONLY)
M.select("community.thread_reads", "user_id = %(owner)s", OWNER_ONLY | {"anon": "no"})
M.select("community.notifications", "user_id = %(owner)s", OWNER_ONLY)
M.select("api.community_notifications", "kind = 'reaction'", OWNER_ONLY | {"service_role": "yes"})
M.select("community.members", "user_id = %(owner)s", ALL_YES)
M.select("api.community_members", "user_id = %(owner)s", ALL_YES)
M.select("community.trust_levels", "true", ALL_YES)
M.select("api.community_trust_levels", "true", ALL_YES)
M.select("community.blocks", "blocker_id = %(owner)s", OWNER_ONLY)
M.select("api.community_my_blocks", "blocked_id = %(newbie)s", OWNER_ONLY)
M.select("community.conversations", "id = %(conversation)s", PARTICIPANTS)
M.select(
    "api.community_my_conversations", "id = %(conversation)s", PARTICIPANTS | {"service_role": "no"}
)
M.select("community.conversation_participants", "conversation_id = %(conversation)s", PARTICIPANTS)
M.select(
    "api.community_conversation_participants", "conversation_id = %(conversation)s", PARTICIPANTS
)
M.select("community.messages", "conversation_id = %(conversation)s", PARTICIPANTS)
M.select("api.community_conversation_messages", "conversation_id = %(conversation)s", PARTICIPANTS)
M.select("community.flag_reasons", "true", ALL_YES)
M.select("api.community_report_reasons", "true", ALL_YES)
M.select(
    "community.flags",
    "review_item_id = %(review_item)s",
    M.cells(
        anon="deny",
        member="yes",
        newbie="no",
        owner="no",
        participant="no",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
)
M.select(
    "api.community_my_reports",
    "target_id = %(owner_post)s::text",
    M.cells(
        anon="deny",
        member="yes",
        newbie="no",
        owner="no",
        participant="no",
        moderator="no",
        admin="no",
        service_role="no",
    ),
)
M.select("community.review_items", "id = %(review_item)s", STAFF)
M.select("api.community_review_queue", "id = %(review_item)s", STAFF)
M.select("community.review_history", "review_item_id = %(review_item)s", STAFF)
M.select("api.community_review_history", "review_item_id = %(review_item)s", STAFF)
M.select(
    "community.moderation_actions",
    "id = %(action)s",
    M.cells(
        anon="deny",
        member="no",
        newbie="no",
        owner="yes",
        participant="no",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
)
M.select(
    "api.community_moderation_actions",
    "id = %(action)s",
    M.cells(
        anon="deny",
        member="no",
        newbie="no",
        owner="yes",
        participant="no",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
)
M.select(
    "community.appeals",
    "id = %(appeal)s",
    M.cells(
        anon="deny",
        member="no",
        newbie="no",
        owner="yes",
        participant="no",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
)
M.select(
    "api.community_appeals",
    "id = %(appeal)s",
    M.cells(
        anon="deny",
        member="no",
        newbie="no",
        owner="yes",
        participant="no",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
)
M.select(
    "community.contributions",
    "id = %(article)s",
    M.cells(
        anon="no",
        member="no",
        newbie="no",
        owner="yes",
        participant="no",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
)
M.select(
    "api.community_contributions",
    "id = %(draft)s",
    M.cells(
        anon="no",
        member="no",
        newbie="no",
        owner="yes",
        participant="no",
        moderator="no",
        admin="no",
        service_role="yes",
    ),
)
M.select(
    "community.contribution_comments",
    "contribution_id = %(article)s",
    M.cells(
        anon="deny",
        member="no",
        newbie="no",
        owner="yes",
        participant="no",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
)
M.select(
    "api.community_contribution_comments",
    "contribution_id = %(article)s",
    M.cells(
        anon="deny",
        member="no",
        newbie="no",
        owner="yes",
        participant="no",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
)

M.select(
    "api.community_my_watches",
    "target_type = 'category' and target_id = %(public)s",
    M.cells(
        anon="deny",
        member="no",
        newbie="no",
        owner="yes",
        participant="no",
        moderator="no",
        admin="no",
        service_role="yes",
    ),
)

TABLES = [
    "categories", "threads", "posts", "post_revisions", "reactions", "thread_watches",
    "category_watches", "thread_reads", "notifications", "members", "trust_levels", "blocks",
    "conversations", "conversation_participants", "messages", "flag_reasons", "flags",
    "review_items", "review_history", "moderation_actions", "appeals", "contributions",
    "contribution_comments", "post_terms",
]  # fmt: skip
# The postings of one-word search: read only by the definer search function.
M.select(
    "community.post_terms",
    "post_id = %(post1)s",
    M.same("deny") | {"service_role": "yes"},
)
M.write(
    "community.post_terms",
    "insert",
    "insert into community.post_terms (term, post_id) values ('planted', %(post1)s)",
)
M.write("community.post_terms", "update", "update community.post_terms set term = 'x'")
# Clients have no write grants on any community table: every change is an RPC.
M.write(
    "community.posts",
    "insert",
    "insert into community.posts (thread_id, post_number, author_id, body)"
    " values (%(thread)s, 99, %(owner)s, 'x')",
)
M.write(
    "community.posts",
    "update",
    "update community.posts set body = 'pwned' where thread_id = %(thread)s",
)
M.write("community.posts", "delete", "delete from community.posts where thread_id = %(thread)s")
M.write(
    "community.threads",
    "insert",
    "insert into community.threads (category_id, title) values (%(public)s, 'x')",
)
M.write(
    "community.threads",
    "update",
    "update community.threads set locked_at = null where id = %(thread)s",
)
M.write("community.threads", "delete", "delete from community.threads where id = %(thread)s")
M.write(
    "community.messages",
    "insert",
    "insert into community.messages (conversation_id, sender_id, body)"
    " values (%(conversation)s, %(owner)s, 'x')",
)
M.write(
    "community.messages",
    "update",
    "update community.messages set body = 'x' where conversation_id = %(conversation)s",
)
M.write(
    "community.messages",
    "delete",
    "delete from community.messages where conversation_id = %(conversation)s",
)
M.write(
    "community.conversation_participants",
    "insert",
    "insert into community.conversation_participants (conversation_id, user_id)"
    " values (%(conversation)s, %(member)s)",
)
M.write(
    "community.conversation_participants",
    "update",
    "update community.conversation_participants set left_at = now()",
)
M.write(
    "community.conversation_participants",
    "delete",
    "delete from community.conversation_participants",
)
M.write(
    "community.members",
    "insert",
    "insert into community.members (user_id, trust_level) values (gen_random_uuid(), 4)",
)
M.write(
    "community.members",
    "update",
    "update community.members set trust_level = 4, silenced_until = null",
)
M.write("community.members", "delete", "delete from community.members")
M.write(
    "community.notifications",
    "insert",
    "insert into community.notifications (user_id, kind, category)"
    " values (%(owner)s, 'reply', 'replies')",
)
M.write("community.notifications", "update", "update community.notifications set read_at = now()")
M.write("community.notifications", "delete", "delete from community.notifications")
M.write(
    "community.review_items", "update", "update community.review_items set status = 'disagreed'"
)
M.write("community.review_items", "delete", "delete from community.review_items")
M.write(
    "community.flags",
    "insert",
    "insert into community.flags (review_item_id, target_type, target_id,"
    " flagger_id, reason, weight) values (%(review_item)s, 'post', '1', %(owner)s,"
    " 'spam', 99)",
)
M.write("community.flags", "delete", "delete from community.flags")
M.write(
    "community.contributions", "update", "update community.contributions set status = 'approved'"
)
M.write("community.categories", "update", "update community.categories set read_level = 'everyone'")
for _table in TABLES:
    if ("write", f"community.{_table} (delete)") not in M.cases:
        M.write(f"community.{_table}", "delete", f"delete from community.{_table}")

M.execute(
    "api.community_create_post", "select api.community_create_post(%(thread)s, 'more')", SIGNED_IN
)
M.execute(
    "api.community_create_thread",
    "select api.community_create_thread(%(public)s, 'New', 'Body')",
    SIGNED_IN,
)
M.execute(
    "api.community_create_thread",
    "select api.community_create_thread(%(announce)s, 'News', 'Body')",
    M.cells(
        anon="deny",
        member="community_cannot_post",
        newbie="community_cannot_post",
        owner="community_cannot_post",
        participant="community_cannot_post",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
    label="staff posting",
)
M.execute(
    "api.community_create_post",
    "select api.community_create_post(%(staff_thread)s, 'x')",
    M.cells(
        anon="deny",
        member="not_found",
        newbie="not_found",
        owner="not_found",
        participant="not_found",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
    label="staff category",
)
M.execute(
    "api.community_edit_post",
    "select api.community_edit_post(%(owner_post)s, 'edited')",
    M.cells(
        anon="deny",
        member="deny",
        newbie="deny",
        owner="yes",
        participant="deny",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.community_delete_post",
    "select api.community_delete_post(%(owner_post)s)",
    M.cells(
        anon="deny",
        member="deny",
        newbie="deny",
        owner="yes",
        participant="deny",
        moderator="deny",
        admin="deny",
        service_role="deny",
    ),
)
M.execute(
    "api.community_react",
    "select api.community_react(%(owner_post)s, 'love')",
    M.cells(
        anon="deny",
        member="community_already_reacted",
        newbie="yes",
        owner="invalid_argument",
        participant="yes",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.community_unreact",
    "select api.community_unreact(%(owner_post)s)",
    M.cells(
        anon="deny",
        member="yes",
        newbie="not_found",
        owner="not_found",
        participant="not_found",
        moderator="not_found",
        admin="not_found",
        service_role="deny",
    ),
)
M.execute(
    "api.community_mark_solved",
    "select api.community_mark_solved(%(thread)s, %(reply)s)",
    M.cells(
        anon="deny",
        member="deny",
        newbie="deny",
        owner="yes",
        participant="deny",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.community_watch", "select api.community_watch('thread', %(thread)s, 'muted')", SIGNED_IN
)
M.execute(
    "api.community_mark_thread_read",
    "select api.community_mark_thread_read(%(thread)s, 3)",
    SIGNED_IN,
)
M.execute(
    "api.community_list_threads", "select * from api.community_list_threads(%(public)s)", ALL_YES
)
M.execute(
    "api.community_list_threads",
    "select * from api.community_list_threads(%(members_cat)s)",
    M.cells(
        anon="no",
        member="yes",
        newbie="yes",
        owner="yes",
        participant="yes",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
    label="members",
)
M.execute(
    "api.community_list_thread_posts",
    "select * from api.community_list_thread_posts(%(thread)s)",
    ALL_YES,
)
M.execute(
    "api.community_list_thread_posts",
    "select * from api.community_list_thread_posts(%(staff_thread)s)",
    M.cells(
        anon="not_found",
        member="not_found",
        newbie="not_found",
        owner="not_found",
        participant="not_found",
        moderator="yes",
        admin="yes",
        service_role="yes",
    ),
    label="staff",
)
M.execute(
    "api.community_search_forum", "select * from api.community_search_forum('canaries')", ALL_YES
)
M.execute(
    "api.community_search_forum",
    "select * from api.community_search_forum('staff talk')",
    M.cells(
        anon="no",
        member="no",
        newbie="no",
        owner="no",
        participant="no",
        moderator="yes",
        admin="yes",
        service_role="no",
    ),
    label="staff",
)
M.execute(
    "api.community_save_category", "select api.community_save_category('x-cat', 'X')", STAFF_CALL
)
M.execute(
    "api.community_count_notifications", "select api.community_count_notifications()", SIGNED_IN
)
M.execute(
    "api.community_mark_notifications_read",
    "select api.community_mark_notifications_read()",
    SIGNED_IN,
)
M.execute("api.community_record_visit", "select api.community_record_visit()", SIGNED_IN)
M.execute(
    "api.community_block_user",
    "select api.community_block_user(%(member)s)",
    M.cells(
        anon="deny",
        member="invalid_argument",
        newbie="yes",
        owner="yes",
        participant="yes",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.community_start_conversation",
    "select api.community_start_conversation(array[%(member)s]::uuid[], 'hi')",
    M.cells(
        anon="deny",
        member="invalid_argument",
        newbie="yes",
        owner="yes",
        participant="yes",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.community_start_conversation",
    "select api.community_start_conversation(array[%(owner)s]::uuid[], 'hi')",
    M.cells(
        anon="deny",
        member="yes",
        newbie="community_blocked",
        owner="invalid_argument",
        participant="yes",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
    label="blocked",
)
M.execute(
    "api.community_send_message",
    "select api.community_send_message(%(conversation)s, 'hello')",
    M.cells(
        anon="deny",
        member="community_not_participant",
        newbie="community_not_participant",
        owner="yes",
        participant="yes",
        moderator="community_not_participant",
        admin="community_not_participant",
        service_role="deny",
    ),
)
M.execute(
    "api.community_leave_conversation",
    "select api.community_leave_conversation(%(conversation)s)",
    M.cells(
        anon="deny",
        member="community_not_participant",
        newbie="community_not_participant",
        owner="yes",
        participant="yes",
        moderator="community_not_participant",
        admin="community_not_participant",
        service_role="deny",
    ),
)
M.execute(
    "api.community_count_unread_messages", "select api.community_count_unread_messages()", SIGNED_IN
)
M.execute(
    "api.community_report",
    "select api.community_report('post', %(owner_post)s::text, 'spam')",
    M.cells(
        anon="deny",
        member="community_already_flagged",
        newbie="yes",
        owner="community_flag_own",
        participant="yes",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "api.community_report",
    "select api.community_report('message', %(reply_message)s::text, 'spam')",
    # Staff outside the conversation cannot report it (they would read it in the queue).
    M.cells(
        anon="deny",
        member="not_found",
        newbie="not_found",
        owner="yes",
        participant="community_flag_own",
        moderator="not_found",
        admin="not_found",
        service_role="deny",
    ),
    label="message",
)
M.execute(
    "api.community_decide_review",
    "select api.community_decide_review(%(review_item)s, 'defer',"
    " (select version from community.review_items where id = %(review_item)s))",
    STAFF_CALL,
)
M.execute(
    "api.community_moderate",
    "select api.community_moderate('hide', 'post', %(reply)s::text, 'matrix test')",
    STAFF_CALL,
)
M.execute(
    "api.community_moderate",
    "select api.community_moderate('suspend', 'user', %(newbie)s::text, 'matrix test',"
    " now() + interval '1 day')",
    STAFF_CALL,
    label="suspend",
)
M.execute(
    "api.community_get_moderation_stats", "select api.community_get_moderation_stats()", STAFF_CALL
)
M.execute(
    "api.community_set_trust_level",
    "select api.community_set_trust_level(%(member)s, 4, 'leader now')",
    STAFF_CALL,
)
M.execute(
    "api.community_appeal",
    "select api.community_appeal(%(action)s, 'again')",
    M.cells(
        anon="deny",
        member="not_found",
        newbie="not_found",
        owner="community_appeal_exists",
        participant="not_found",
        moderator="not_found",
        admin="not_found",
        service_role="deny",
    ),
)
M.execute(
    "api.community_decide_appeal",
    "select api.community_decide_appeal(%(appeal)s, true, 'fair')",
    STAFF_CALL,
)
M.execute(
    "api.community_save_contribution",
    "select api.community_save_contribution('article', 'T', 'B')",
    SIGNED_IN,
)
M.execute(
    "api.community_submit_contribution",
    "select api.community_submit_contribution(%(draft)s)",
    M.cells(
        anon="deny",
        member="not_found",
        newbie="not_found",
        owner="yes",
        participant="not_found",
        moderator="not_found",
        admin="not_found",
        service_role="deny",
    ),
)
M.execute(
    "api.community_review_contribution",
    "select api.community_review_contribution(%(article)s, 'approved')",
    M.cells(
        anon="deny",
        member="deny",
        newbie="deny",
        owner="deny",
        participant="deny",
        moderator="community_transition_invalid",
        admin="community_transition_invalid",
        service_role="deny",
    ),
)
M.execute(
    "api.community_comment_contribution",
    "select api.community_comment_contribution(%(article)s, 'done')",
    M.cells(
        anon="deny",
        member="not_found",
        newbie="not_found",
        owner="yes",
        participant="not_found",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
)
M.execute(
    "private.notify",
    "select private.notify(%(owner)s, 'ctf.solved')",
    M.cells(
        anon="deny",
        member="deny",
        newbie="deny",
        owner="deny",
        participant="deny",
        moderator="deny",
        admin="deny",
        service_role="yes",
    ),
)
M.execute(
    "private.community_enqueue_digests",
    "select private.community_enqueue_digests()",
    M.cells(
        anon="deny",
        member="deny",
        newbie="deny",
        owner="deny",
        participant="deny",
        moderator="deny",
        admin="deny",
        service_role="yes",
    ),
)
M.execute(
    "private.community_set_event_end",
    "select private.community_set_event_end('x', now())",
    M.cells(
        anon="deny",
        member="deny",
        newbie="deny",
        owner="deny",
        participant="deny",
        moderator="deny",
        admin="deny",
        service_role="yes",
    ),
)
M.execute("private.erase_community", "select private.erase_community(%(owner)s)", ALL_DENY)
M.execute("private.community_actor", "select private.community_actor()", ALL_DENY)


M.execute(
    "api.community_add_participant",
    "select api.community_add_participant(%(group)s, %(member)s)",
    M.cells(
        anon="deny",
        member="community_not_participant",
        newbie="community_not_participant",
        owner="yes",
        participant="yes",
        moderator="yes",
        admin="community_not_participant",
        service_role="deny",
    ),
)
M.execute(
    "api.community_mark_conversation_read",
    "select api.community_mark_conversation_read(%(conversation)s)",
    M.cells(
        anon="deny",
        member="community_not_participant",
        newbie="community_not_participant",
        owner="yes",
        participant="yes",
        moderator="community_not_participant",
        admin="community_not_participant",
        service_role="deny",
    ),
)
M.execute(
    "api.community_mark_notification_unread",
    "select api.community_mark_notification_unread(%(notification)s)",
    M.cells(
        anon="deny",
        member="not_found",
        newbie="not_found",
        owner="yes",
        participant="not_found",
        moderator="not_found",
        admin="not_found",
        service_role="deny",
    ),
)
M.execute(
    "api.community_unblock_user",
    "select api.community_unblock_user(%(newbie)s)",
    M.cells(
        anon="deny",
        member="yes",
        newbie="yes",
        owner="yes",
        participant="yes",
        moderator="yes",
        admin="yes",
        service_role="deny",
    ),
)


@pytest.fixture(scope="module")
def world(module_db, module_scene) -> tuple:
    """The scene (built once for the module; every cell rolls back), its people and ids, plus
    a group conversation the owner started with the participant and the moderator, and a
    notification of the owner's (read)."""
    db, scene = module_db, module_scene
    p = dict(scene.ids)
    for name in ("owner", "member", "newbie", "participant", "moderator", "admin"):
        p[name] = getattr(scene, name).id
    message = scalar(
        db,
        scene.owner,
        "select api.community_start_conversation(%s::uuid[], 'Group hello', 'Group')",
        ([scene.participant.id, scene.moderator.id],),
    )
    p["group"] = db.execute(
        "select conversation_id from community.messages where id = %s", (message,)
    ).fetchone()["conversation_id"]
    p["notification"] = db.execute(
        "update community.notifications set read_at = now()"
        " where id = (select min(id) from community.notifications where user_id = %s and in_app)"
        " returning id",
        (scene.owner.id,),
    ).fetchone()["id"]
    return scene, p


@M.parametrize("select")
def test_select(module_db, world, cell):
    scene, params = world
    cell.check(module_db, scene.get(cell.role), params)


@M.parametrize("write")
def test_write(module_db, world, cell):
    scene, params = world
    cell.check(module_db, scene.get(cell.role), params)


@M.parametrize("execute")
def test_execute(module_db, world, cell):
    scene, params = world
    cell.check(module_db, scene.get(cell.role), params)


def test_matrix_covers_every_community_object(db):
    assert M.uncovered(db) == []
