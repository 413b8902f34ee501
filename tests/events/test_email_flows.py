"""Every email users expect, read back from the local mailbox after the worker ran:
per-notification email by preference, daily and weekly digests, moderation outcome,
enrollment confirmation, certificate issued, CTF starting soon (24 h and 1 h, once each),
entitlement changes."""

from __future__ import annotations

import json

from events_helpers import committed, dead_or_pending, drain, mailbox, new_user

from flagship.testing.harness import rpc, scalar
from mail.catalog import KINDS


def notify(admin, user, kind, object_type=None, object_id=None, data=None, actor=None):
    return admin.execute(
        "select private.notify(%s, %s, %s, %s, %s::jsonb, %s) as id",
        (user.id, kind, object_type, object_id, json.dumps(data or {}), actor and actor.id),
    ).fetchone()["id"]


def course(admin, slug: str, title: str) -> str:
    return str(
        admin.execute(
            "insert into learning.courses (slug, title, status, published_at)"
            " values (%s, %s, 'published', now()) returning id",
            (slug, title),
        ).fetchone()["id"]
    )


def test_instant_notification_email_honours_preferences_and_unsubscribe(app_url, admin):
    reader = new_user(admin, "ev_reader")  # replies: immediate (default)
    quiet = new_user(admin, "ev_quiet", notifications={"replies": {"in_app": True, "email": "off"}})
    poster = new_user(admin, "ev_poster")
    data = {"title": "Heap exploitation", "thread_id": 7, "post_number": 3}
    notify(admin, reader, "reply", "post", "99", data, poster)
    notify(admin, quiet, "reply", "post", "99", data, poster)
    # Read before the worker ran: not emailed.
    read = notify(admin, reader, "mention", "post", "100", data, poster)
    admin.execute("update community.notifications set read_at = now() where id = %s", (read,))
    drain(app_url)
    [message] = mailbox(admin, reader.email, "notification")
    assert message["subject"] == "ev_poster replied to “Heap exploitation”"
    assert "http://127.0.0.1:3000/forum/threads/7#post-3" in message["text_body"]
    assert message["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert {"name": "category", "value": "replies"} in message["tags"]
    assert mailbox(admin, quiet.email, "notification") == []
    # One-click unsubscribe from replies (what the edge records) stops reply emails only.
    admin.execute(
        "insert into ops.email_suppressions (email, category, reason)"
        " values (lower(%s), 'replies', 'unsubscribed')",
        (reader.email,),
    )
    notify(admin, reader, "reply", "post", "101", data, poster)
    notify(admin, reader, "mention", "post", "102", data, poster)
    drain(app_url)
    assert [m["subject"] for m in mailbox(admin, reader.email, "notification")] == [
        "ev_poster replied to “Heap exploitation”",
        "ev_poster mentioned you in “Heap exploitation”",
    ]
    assert dead_or_pending(admin) == []


def test_moderation_outcome_reaches_the_author(app_url, admin):
    author = new_user(admin, "ev_author")
    moderator = new_user(admin, "ev_mod", "moderator")
    notify(
        admin,
        author,
        "moderation.hide",
        "post",
        "5",
        {"title": "My write-up", "reason": "Spoilers before the CTF ends"},
        moderator,
    )
    drain(app_url)
    [message] = mailbox(admin, author.email, "moderation_outcome")
    assert message["subject"] == KINDS["moderation_outcome"].subject
    assert "A moderator reviewed “My write-up”: hide." in message["text_body"]
    assert "Reason: Spoilers before the CTF ends" in message["text_body"]
    assert "List-Unsubscribe" not in message["headers"]  # an account email


def test_daily_and_weekly_digests_group_unread_notifications(app_url, admin):
    daily = new_user(admin, "ev_daily")  # ctf: digest (daily) by default
    weekly = new_user(
        admin, "ev_weekly", notifications={"ctf": {"in_app": True, "email": "weekly"}}
    )
    for user in (daily, weekly):
        notify(admin, user, "ctf.event_started", "ctf_event", "e1", {"title": "Night CTF"})
        notify(admin, user, "ctf.first_blood", "challenge", "c1", {"title": "Warmup"})
        admin.execute(
            "insert into community.members (user_id, last_seen_at) values (%s, now() - interval"
            " '3 days') on conflict (user_id) do update set last_seen_at = excluded.last_seen_at",
            (user.id,),
        )
    assert admin.execute("select private.community_enqueue_digests() as n").fetchone()["n"] == 1
    drain(app_url)
    [digest] = mailbox(admin, daily.email, "notification_digest")
    assert "- Ctf event started: “Night CTF”" in digest["text_body"]
    assert "- First blood! Your team was first to solve “Warmup”" in digest["text_body"]
    assert {"name": "category", "value": "digest"} in digest["tags"]
    assert mailbox(admin, weekly.email) == []
    # A week later the weekly rows go, in one digest; nothing is sent twice.
    admin.execute(
        "update community.notifications set created_at = now() - interval '8 days'"
        " where user_id = %s",
        (weekly.id,),
    )
    assert admin.execute("select private.community_enqueue_digests() as n").fetchone()["n"] == 1
    assert admin.execute("select private.community_enqueue_digests() as n").fetchone()["n"] == 0
    drain(app_url)
    assert len(mailbox(admin, weekly.email, "notification_digest")) == 1
    assert len(mailbox(admin, daily.email, "notification_digest")) == 1


def test_a_digest_whose_rows_were_read_since_is_not_sent(app_url, admin):
    user = new_user(admin, "ev_reads")
    notify(admin, user, "ctf.event_started", "ctf_event", "e2", {"title": "Day CTF"})
    admin.execute(
        "insert into community.members (user_id, last_seen_at) values (%s, now() - interval"
        " '3 days') on conflict (user_id) do update set last_seen_at = excluded.last_seen_at",
        (user.id,),
    )
    admin.execute("select private.community_enqueue_digests()")
    admin.execute(
        "update community.notifications set read_at = now() where user_id = %s", (user.id,)
    )
    drain(app_url)
    assert mailbox(admin, user.email) == []
    assert dead_or_pending(admin) == []


def test_enrollment_completion_and_certificate_emails(app_url, admin):
    learner = new_user(admin, "ev_learner")
    course_id = course(admin, "events-web-101", "Web exploitation 101")
    committed(rpc, admin, learner, "learning_enroll", p_course_id=course_id)
    drain(app_url)
    [enrolled] = mailbox(admin, learner.email, "enrollment_confirmation")
    assert enrolled["subject"] == "You are enrolled in Web exploitation 101"
    # Completing the course issues the certificate (trigger), whose email links the PDF
    # and the verification page, and queues learning.course_completed.
    admin.execute(
        "update learning.enrollments set status = 'completed', completed_at = now()"
        " where user_id = %s and course_id = %s",
        (learner.id, course_id),
    )
    code = admin.execute(
        "select code from learning.certificates where user_id = %s", (learner.id,)
    ).fetchone()["code"]
    drain(app_url)
    [cert] = mailbox(admin, learner.email, "certificate_issued")
    assert f"Certificate number: {code}." in cert["text_body"]
    assert (
        f"/storage/v1/object/authenticated/certificates/{learner.id}/{code}.pdf"
        in cert["text_body"]
    )
    assert f"Verification page: http://127.0.0.1:3000/certificates/{code}" in cert["text_body"]
    completed = admin.execute(
        "select payload from ops.outbox where topic = 'learning.course_completed'"
        " and payload ->> 'user_id' = %s",
        (learner.id,),
    ).fetchone()["payload"]
    assert completed["certificate_code"] == code and completed["course_slug"] == "events-web-101"
    row = admin.execute(
        "select kind, data from community.notifications where user_id = %s"
        " and kind = 'course.completed'",
        (learner.id,),
    ).fetchone()
    assert row["data"]["title"] == "Web exploitation 101"
    assert dead_or_pending(admin) == []


def test_ctf_starting_soon_24h_and_1h_before_once_each(app_url, admin):
    organiser = new_user(admin, "ev_org", "instructor")
    player = new_user(admin, "ev_player")
    opted_out = new_user(admin, "ev_noctf", email_categories={"ctf_events": False})
    event = committed(
        scalar,
        admin,
        organiser,
        "select api.ctf_create_event(%s::jsonb)",
        (json.dumps({"slug": "soon-ctf", "title": "Soon CTF", "mode": "teams"}),),
    )
    admin.execute(
        "update ctf.events set starts_at = now() + interval '20 hours',"
        " ends_at = now() + interval '2 days' where id = %s",
        (event,),
    )
    committed(scalar, admin, player, "select api.ctf_create_team(%s, 'Soonest')", (event,))
    committed(scalar, admin, opted_out, "select api.ctf_create_team(%s, 'Quiet')", (event,))
    soon = "select private.events_ctf_starting_soon() as n"
    assert admin.execute(soon).fetchone()["n"] == 2
    assert admin.execute(soon).fetchone()["n"] == 0  # once
    admin.execute(
        "update ctf.events set starts_at = now() + interval '30 minutes' where id = %s", (event,)
    )
    assert admin.execute(soon).fetchone()["n"] == 2
    assert admin.execute(soon).fetchone()["n"] == 0
    drain(app_url)
    texts = [m["text_body"] for m in mailbox(admin, player.email, "ctf_starting_soon")]
    assert len(texts) == 2
    assert sum("Soon CTF starts within 24 hours" in t for t in texts) == 1
    assert sum("Soon CTF starts within the hour" in t for t in texts) == 1
    assert mailbox(admin, opted_out.email) == []  # ctf_events switched off in settings


def test_entitlement_changes_are_emailed(app_url, admin):
    user = new_user(admin, "ev_pro")
    for entitled in (True, False):
        admin.execute(
            "select ops.enqueue('billing.entitlement_changed', %s::jsonb)",
            (
                json.dumps(
                    {
                        "user_id": user.id,
                        "feature": "pro",
                        "entitled": entitled,
                        "cause": "evt_test",
                    }
                ),
            ),
        )
    drain(app_url)
    # both jobs may be delivered in either order: tell the emails apart by what they say
    mails = mailbox(admin, user.email, "entitlement_changed")
    assert len(mails) == 2
    granted, lost = sorted(mails, key=lambda m: "ended" in m["text_body"])
    assert granted["subject"] == "Welcome to Flagship Pro"
    assert "You now have Flagship Pro" in granted["text_body"]
    assert lost["subject"] == "Your plan changed"
    assert "Your access to Flagship Pro has ended." in lost["text_body"]
