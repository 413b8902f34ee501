"""Newsletter: compose (markdown → sanitised HTML), audiences, preview, schedule, sending in
batches through the real `resend` client against a local fake, idempotent per chunk;
suppression, opt-in and per-recipient status; only newsletter.send holders may do it."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import committed, drain, mailbox, new_user

from flagship.testing.fake_resend import FakeResend
from flagship.testing.harness import api_error, query, rpc
from sync import newsletter
from sync.handlers import Job
from sync.settings import WorkerSettings
from sync.worker import Worker

OPT_IN = {"email_categories": {"newsletter": True}}
BODY = "# Winter CTF\n\nJoin **us** <script>alert(1)</script> [rules](javascript:alert(1))"


@pytest.fixture
def fake_resend():
    with FakeResend() as fake:
        yield fake


def save(admin, who, audience, **kw):
    return committed(
        rpc,
        admin,
        who,
        "events_save_newsletter",
        p_subject=kw.pop("subject", "Winter news"),
        p_body=kw.pop("body", BODY),
        p_audience=audience,
        **kw,
    )


def start_due(admin) -> int:
    return admin.execute("select private.events_start_due_newsletters() as n").fetchone()["n"]


def test_compose_preview_schedule_and_send_through_the_batch_api(app_url, admin, fake_resend):
    boss = new_user(admin, "nl_admin", "admin")
    fans = [new_user(admin, f"nl_fan{i}", **OPT_IN) for i in range(3)]
    new_user(admin, "nl_silent")  # newsletter is off by default: not a recipient
    gone = new_user(admin, "nl_gone", **OPT_IN)
    admin.execute(
        "insert into ops.email_suppressions (email, category, reason)"
        " values (lower(%s), 'newsletter', 'unsubscribed')",
        (gone.email,),
    )
    campaign = save(admin, boss, {"kind": "everyone"}, p_headline="Winter is coming")
    drain(app_url)  # content.render: the markdown becomes sanitised HTML
    preview = committed(rpc, admin, boss, "events_preview_newsletter", p_id=campaign)
    assert (preview["recipients"], preview["suppressed"]) == (3, 1)
    html = preview["body_html"]
    assert (
        "<strong>us</strong>" in html and "<script>" not in html and 'href="javascript' not in html
    )
    committed(rpc, admin, boss, "events_schedule_newsletter", p_id=campaign)
    assert start_due(admin) == 1
    assert start_due(admin) == 0
    mail = newsletter_settings(app_url, fake_resend)
    with Worker(app_url, handlers={"newsletter.send": newsletter.newsletter_send(mail)}) as w:
        while w.run_once():
            pass
    [request] = [r for r in fake_resend.requests if r["path"].endswith("/emails/batch")]
    assert request["headers"]["Idempotency-Key"] == f"flagship-newsletter-{campaign}-0"
    sent_to = sorted(e["to"][0] for e in request["json"])
    assert sent_to == sorted(u.email.lower() for u in fans)
    first = request["json"][0]
    assert first["subject"] == "Winter news"
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<strong>us</strong>" in first["html"] and "<script>" not in first["html"]
    tokens = {e["headers"]["List-Unsubscribe"] for e in request["json"]}
    assert len(tokens) == len(fans)  # one unsubscribe link per recipient
    [stats] = committed(
        query,
        admin,
        boss,
        "select * from api.events_newsletter_campaigns where id = %s",
        (campaign,),
    )
    assert (stats["status"], stats["recipients"], stats["sent"], stats["suppressed"]) == (
        "sent",
        4,
        3,
        1,
    )
    rows = admin.execute(
        "select email, status, provider_id from ops.newsletter_recipients"
        " where campaign_id = %s order by email",
        (campaign,),
    ).fetchall()
    assert {r["status"] for r in rows if r["email"] != gone.email.lower()} == {"sent"}
    assert all(r["provider_id"] for r in rows if r["status"] == "sent")
    # A retried chunk (lost answer) reaches Resend with the same key: nothing new is sent.
    handler = newsletter.newsletter_send(mail)
    admin.execute(
        "update ops.newsletter_recipients set status = 'pending' where campaign_id = %s"
        " and status = 'sent'",
        (campaign,),
    )
    admin.execute(
        "update ops.newsletter_campaigns set status = 'sending' where id = %s", (campaign,)
    )
    handler(
        Job(
            id=0,
            topic="newsletter.send",
            payload={"campaign_id": campaign, "chunk": 0},
            attempts=2,
            max_attempts=8,
        )
    )
    assert len(fake_resend.delivered) == 3


def newsletter_settings(app_url: str, fake: FakeResend) -> WorkerSettings:
    """The worker's settings with Resend pointed at the local fake."""
    base = WorkerSettings.from_env({"DATABASE_URL": app_url})
    mail = dataclasses.replace(
        base.mail, resend_api_key="re_test_newsletter", resend_api_url=fake.url
    )
    return dataclasses.replace(base, mail=mail)


def test_audiences_course_event_plan_and_the_mailbox(app_url, admin):
    boss = new_user(admin, "nl_boss", "admin")
    learner = new_user(admin, "nl_learner", **OPT_IN)
    player = new_user(admin, "nl_player", **OPT_IN)
    pro = new_user(admin, "nl_pro", **OPT_IN)
    course_id = admin.execute(
        "insert into learning.courses (slug, title, status) values ('nl-course', 'Newsletter"
        " course', 'published') returning id"
    ).fetchone()["id"]
    admin.execute(
        "insert into learning.enrollments (user_id, course_id) values (%s, %s)",
        (learner.id, course_id),
    )
    admin.execute(
        "insert into billing.entitlements (user_id, feature) values (%s, 'pro')", (pro.id,)
    )
    event = admin.execute(
        "insert into ctf.events (slug, title) values ('nl-ctf', 'NL CTF') returning id"
    ).fetchone()["id"]
    team = admin.execute(
        "insert into ctf.teams (event_id, name) values (%s, 'NL') returning id", (event,)
    ).fetchone()["id"]
    admin.execute(
        "insert into ctf.participants (event_id, user_id, team_id) values (%s, %s, %s)",
        (event, player.id, team),
    )
    audiences = {
        learner.email: {"kind": "course", "course_id": str(course_id)},
        player.email: {"kind": "event", "event_id": str(event)},
        pro.email: {"kind": "plan", "feature": "pro"},
    }
    for audience in audiences.values():
        campaign = save(admin, boss, audience, subject=f"For {audience['kind']}")
        committed(rpc, admin, boss, "events_schedule_newsletter", p_id=campaign)
    assert start_due(admin) == 3
    drain(app_url)  # no RESEND_API_KEY: the local mailbox
    for to, audience in audiences.items():
        assert [m["subject"] for m in mailbox(admin, to, "newsletter")] == [
            f"For {audience['kind']}"
        ]


def test_only_newsletter_senders_compose_and_drafts_only_change(app_url, admin):
    boss = new_user(admin, "nl_chief", "admin")
    member = new_user(admin, "nl_member")
    with admin.transaction():
        with api_error(admin, "forbidden", "42501"):
            rpc(
                admin,
                member,
                "events_save_newsletter",
                p_subject="x",
                p_body="y",
                p_audience={"kind": "everyone"},
            )
        with api_error(admin, "events_audience_invalid", "22023"):
            rpc(
                admin,
                boss,
                "events_save_newsletter",
                p_subject="x",
                p_body="y",
                p_audience={"kind": "everyone", "extra": 1},
            )
        with api_error(admin, "events_audience_invalid", "22023"):
            rpc(
                admin,
                boss,
                "events_save_newsletter",
                p_subject="x",
                p_body="y",
                p_audience={"kind": "course", "course_id": "not-a-uuid"},
            )
    campaign = save(admin, boss, {"kind": "everyone"})
    with admin.transaction():
        assert query(admin, member, "select id from api.events_newsletter_campaigns") == []
        assert query(admin, member, "select * from api.events_newsletter_recipients") == []
    committed(rpc, admin, boss, "events_schedule_newsletter", p_id=campaign)
    with admin.transaction():
        with api_error(admin, "events_campaign_not_editable", "PT409"):
            rpc(
                admin,
                boss,
                "events_save_newsletter",
                p_id=campaign,
                p_subject="changed",
                p_body="y",
                p_audience={"kind": "everyone"},
            )
        with api_error(admin, "events_campaign_not_found", "PT404"):
            rpc(admin, boss, "events_preview_newsletter", p_id=-1)
    # Cancelling a scheduled campaign makes it a draft again, which may change.
    assert committed(rpc, admin, boss, "events_cancel_newsletter", p_id=campaign)["status"] == (
        "draft"
    )
    save(admin, boss, {"kind": "everyone"}, p_id=campaign, subject="changed")
    subject = admin.execute(
        "select subject from ops.newsletter_campaigns where id = %s", (campaign,)
    ).fetchone()["subject"]
    assert subject == "changed"
