"""Email: the Auth Send Email Hook, Resend requests against a local fake, Resend webhooks,
one-click unsubscribe, the mailbox default, and worker delivery (exactly once after a kill)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from edge_helpers import PREFIX, assert_error, make_client, new_user, settings

from edge.auth.webhooks import sign
from flagship import cli
from flagship.testing.fake_resend import FakeResend
from mail import mailer
from sync.handlers import Job
from sync.worker import Worker

HOOK_SECRET = "v1,whsec_" + base64.b64encode(b"hook-secret-32-bytes-long-enough!").decode()
RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-webhook-secret-bytes!!").decode()


@pytest.fixture
def fake_resend():
    with FakeResend() as fake:
        yield fake


def signed(
    secret: str, body: dict, *, webhook_id="msg_1", at=None, prefix="webhook"
) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    at = int(time.time()) if at is None else at
    return raw, {
        f"{prefix}-id": webhook_id,
        f"{prefix}-timestamp": str(at),
        f"{prefix}-signature": sign(secret, webhook_id, at, raw),
        "content-type": "application/json",
    }


def mailbox(admin, to: str) -> list[dict]:
    return admin.execute(
        "select * from ops.mailbox where lower(to_address) = lower(%s) order by id", (to,)
    ).fetchall()


# -- Supabase Auth Send Email Hook --------------------------------------------------------------
def hook_payload(action: str, email: str, **extra) -> dict:
    data = {
        "token": "123456",
        "token_hash": "th_abc",
        "redirect_to": "http://127.0.0.1:3000/x",
        "email_action_type": action,
        "site_url": "http://127.0.0.1:3000",
        **extra,
    }
    return {
        "user": {"id": "0d4f2a9e-1c3b-4e5f-8a7b-9c0d1e2f3a4b", "email": email},
        "email_data": data,
    }


@pytest.fixture
def hook_client(app_url):
    with make_client(app_url, send_email_hook_secret=HOOK_SECRET) as c:
        yield c


@pytest.mark.parametrize(
    "action", ["signup", "magiclink", "recovery", "invite", "reauthentication"]
)
def test_auth_hook_renders_and_sends(hook_client, admin, action):
    to = f"hook-{action}@example.test"
    raw, headers = signed(HOOK_SECRET, hook_payload(action, to), webhook_id=f"msg_{action}")
    response = hook_client.post(f"{PREFIX}/auth-email-hook", content=raw, headers=headers)
    assert response.status_code == 200 and response.json() == {}
    # Supabase retries with the same id: not sent twice.
    assert hook_client.post(f"{PREFIX}/auth-email-hook", content=raw, headers=headers).json() == {}
    [message] = mailbox(admin, to)
    assert message["template"] == f"auth_{action}"
    assert action == "invite" or "123456" in message["text_body"]
    if action != "reauthentication":
        assert "/auth/v1/verify?token=th_abc&type=" + action in message["html"].replace(
            "&amp;", "&"
        )
    assert "List-Unsubscribe" not in message["headers"]  # auth emails cannot be unsubscribed


def test_auth_hook_email_change_sends_to_both_addresses(hook_client, admin):
    payload = hook_payload(
        "email_change", "old@example.test", token_new="654321", token_hash_new="th_new"
    )
    payload["user"]["new_email"] = "new@example.test"
    raw, headers = signed(HOOK_SECRET, payload, webhook_id="msg_change")
    assert hook_client.post(f"{PREFIX}/auth-email-hook", content=raw, headers=headers).json() == {}
    assert "token=th_new" in mailbox(admin, "old@example.test")[0]["text_body"]
    assert "token=th_abc" in mailbox(admin, "new@example.test")[0]["text_body"]


def test_auth_hook_refuses_bad_signatures(hook_client, admin, caplog):
    raw, headers = signed(HOOK_SECRET, hook_payload("signup", "forged@example.test"))
    forged = {**headers, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
    response = hook_client.post(f"{PREFIX}/auth-email-hook", content=raw, headers=forged)
    body = assert_error(response, 401, "edge_webhook_signature")
    assert body["error"] == {"http_code": 401, "message": body["message"]}  # as Supabase reads it
    other = "v1,whsec_" + base64.b64encode(b"another secret entirely").decode()
    raw, headers = signed(other, hook_payload("signup", "forged@example.test"))
    assert_error(
        hook_client.post(f"{PREFIX}/auth-email-hook", content=raw, headers=headers),
        401,
        "edge_webhook_signature",
    )
    raw, headers = signed(
        HOOK_SECRET, hook_payload("signup", "forged@example.test"), at=int(time.time()) - 3600
    )
    assert_error(
        hook_client.post(f"{PREFIX}/auth-email-hook", content=raw, headers=headers),
        401,
        "edge_webhook_timestamp",
    )
    raw, headers = signed(HOOK_SECRET, {"user": {}})
    assert_error(
        hook_client.post(f"{PREFIX}/auth-email-hook", content=raw, headers=headers),
        400,
        "invalid_argument",
    )
    assert mailbox(admin, "forged@example.test") == []
    assert HOOK_SECRET not in caplog.text


def test_auth_hook_unconfigured_is_503(client):
    raw, headers = signed(HOOK_SECRET, hook_payload("signup", "x@example.test"))
    assert_error(
        client.post(f"{PREFIX}/auth-email-hook", content=raw, headers=headers),
        503,
        "edge_hook_not_configured",
    )


# -- Resend: request shape, webhooks, unsubscribe ---------------------------------------------
def test_resend_request_shape(fake_resend):
    s = settings(resend_api_key="re_test_123", resend_api_url=fake_resend.url)
    message = mailer.Message(
        "newsletter",
        "reader@example.test",
        {"headline": "Autumn CTF"},
        object_type="newsletter",
        object_id="2026-11",
    )
    assert mailer.send(None, message, "flagship-outbox-7", s) == "email-1"
    assert mailer.send(None, message, "flagship-outbox-7", s) == "email-1"  # idempotent
    request = fake_resend.requests[0]
    assert request["path"] == "/emails"
    assert request["headers"]["Authorization"] == "Bearer re_test_123"
    assert request["headers"]["Idempotency-Key"] == "flagship-outbox-7"
    body = request["json"]
    assert body["to"] == ["reader@example.test"] and body["subject"] == "Autumn CTF"
    assert body["from"] == s.email_from and "<html" in body["html"] and "Autumn CTF" in body["text"]
    assert {"name": "category", "value": "newsletter"} in body["tags"]
    assert {"name": "object", "value": "newsletter_2026-11"} in body["tags"]
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body["headers"]["List-Unsubscribe"].startswith(
        f"<{s.public_url}{PREFIX}/unsubscribe?token="
    )


def test_one_click_unsubscribe(client, admin):
    s = settings()
    params = mailer.compose(mailer.Message("newsletter", "Leaver@Example.test"), s)
    url = urlsplit(params["headers"]["List-Unsubscribe"].strip("<>"))
    token = parse_qs(url.query)["token"][0]
    preview = client.get(f"{PREFIX}/unsubscribe", params={"token": token})
    assert preview.json() == {
        "email": "l***@example.test",
        "category": "newsletter",
        "unsubscribed": False,
    }
    none = "select * from ops.email_suppressions where email = 'leaver@example.test'"
    assert admin.execute(none).fetchall() == []
    response = client.post(
        f"{PREFIX}/unsubscribe",
        params={"token": token},
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200 and response.json()["unsubscribed"] is True
    [row] = admin.execute(none).fetchall()
    assert (row["category"], row["reason"]) == ("newsletter", "unsubscribed")
    assert_error(
        client.post(f"{PREFIX}/unsubscribe", params={"token": token[:-3] + "AAA"}),
        400,
        "edge_unsubscribe_invalid",
    )


@pytest.fixture
def webhook_client(app_url):
    with make_client(app_url, resend_webhook_secret=RESEND_SECRET) as c:
        yield c


def test_resend_webhooks_feed_the_suppression_list(webhook_client, admin):
    bounce = {
        "type": "email.bounced",
        "data": {"to": ["Bouncy@example.test"], "bounce": {"type": "Permanent"}},
    }
    raw, headers = signed(RESEND_SECRET, bounce, webhook_id="msg_b1", prefix="svix")
    response = webhook_client.post(f"{PREFIX}/resend-webhook", content=raw, headers=headers)
    assert response.json() == {"status": "processed", "suppressed": ["bouncy@example.test"]}
    # A replay (same id, still fresh) is acknowledged and not processed again.
    again = webhook_client.post(f"{PREFIX}/resend-webhook", content=raw, headers=headers)
    assert again.json()["status"] == "duplicate"
    complaint = {"type": "email.complained", "data": {"to": ["angry@example.test"]}}
    raw, headers = signed(RESEND_SECRET, complaint, webhook_id="msg_c1")
    assert (
        webhook_client.post(f"{PREFIX}/resend-webhook", content=raw, headers=headers).status_code
        == 200
    )
    transient = {
        "type": "email.bounced",
        "data": {"to": ["soft@example.test"], "bounce": {"type": "Transient"}},
    }
    raw, headers = signed(RESEND_SECRET, transient, webhook_id="msg_t1")
    assert (
        webhook_client.post(f"{PREFIX}/resend-webhook", content=raw, headers=headers).json()[
            "suppressed"
        ]
        == []
    )
    rows = admin.execute(
        "select email, reason from ops.email_suppressions where category = '*' order by email"
    ).fetchall()
    assert {(r["email"], r["reason"]) for r in rows} >= {
        ("bouncy@example.test", "bounced"),
        ("angry@example.test", "complained"),
    }
    assert "soft@example.test" not in {r["email"] for r in rows}
    # Forged and stale deliveries are refused.
    raw, headers = signed(RESEND_SECRET, bounce, webhook_id="msg_f1")
    headers["webhook-signature"] = "v1,Zm9yZ2Vk"
    assert_error(
        webhook_client.post(f"{PREFIX}/resend-webhook", content=raw, headers=headers),
        401,
        "edge_webhook_signature",
    )
    raw, headers = signed(RESEND_SECRET, bounce, webhook_id="msg_old", at=int(time.time()) - 600)
    assert_error(
        webhook_client.post(f"{PREFIX}/resend-webhook", content=raw, headers=headers),
        401,
        "edge_webhook_timestamp",
    )


# -- worker delivery and the mailbox default ----------------------------------------------------
def enqueue(admin, payload: dict, dedupe: str | None = None) -> int:
    return admin.execute(
        "select ops.enqueue('email.send', %s::jsonb, %s) as id", (json.dumps(payload), dedupe)
    ).fetchone()["id"]


def email_worker(app_url, **overrides) -> Worker:
    from sync import email
    from sync.settings import WorkerSettings

    mail = settings(**overrides)
    handler = email.email_send(WorkerSettings(database_url=app_url, mail=mail))
    return Worker(app_url, handlers={"email.send": handler})


def drain(worker: Worker) -> None:
    while worker.run_once():
        pass


def test_mailbox_default_routing_and_cli(app_url, admin_url, admin, capsys, monkeypatch):
    user = new_user(admin_url, username="mail_user")
    admin.execute("update ops.outbox set status = 'done' where status = 'pending'")
    sent = enqueue(
        admin,
        {
            "template": "receipt",
            "user_id": user.id,
            "data": {"amount": "€9.00"},
            "object": {"type": "payment", "id": "pi_1"},
        },
    )
    opted_out = enqueue(admin, {"template": "newsletter", "user_id": user.id})  # off by default
    admin.execute(
        "insert into ops.email_suppressions (email, reason) values ('gone@example.test', 'bounced')"
    )
    suppressed = enqueue(admin, {"template": "welcome", "to": "gone@example.test"})
    with email_worker(app_url) as worker:
        drain(worker)
    statuses = admin.execute(
        "select status from ops.outbox where id = any(%s) order by id",
        ([sent, opted_out, suppressed],),
    ).fetchall()
    assert [r["status"] for r in statuses] == ["done", "done", "done"]
    [message] = mailbox(admin, user.email)
    assert message["template"] == "receipt" and "€9.00" in message["text_body"]
    assert message["idempotency_key"] == f"flagship-outbox-{sent}"
    assert mailbox(admin, "gone@example.test") == []
    monkeypatch.setenv("DATABASE_URL", app_url)
    assert cli.main(["mail", "list", "--to", user.email]) == 0
    assert "Your Flagship receipt" in capsys.readouterr().out
    assert cli.main(["mail", "show", str(message["id"])]) == 0
    out = capsys.readouterr().out
    assert f"To: {user.email}" in out and "category=billing" in out


def test_welcome_goodbye_and_contact_email_verification(app_url, admin_url, admin):
    from edge_helpers import call_as

    user = new_user(admin_url, username="verify_user")
    admin.execute("update auth.users set email_confirmed_at = null where id = %s", (user.id,))
    admin.execute("update auth.users set email_confirmed_at = now() where id = %s", (user.id,))
    call_as(
        admin_url,
        user,
        "select api.accounts_request_contact_email_change('Work@Example.test') as r",
    )
    with email_worker(app_url) as worker:
        drain(worker)
        assert [m["template"] for m in mailbox(admin, user.email)] == ["welcome"]
        [verify] = mailbox(admin, "work@example.test")
        token = verify["text_body"].split("token=")[1].split()[0]
        result = call_as(
            admin_url, user, "select api.accounts_confirm_contact_email_change(%s) as r", (token,)
        )["r"]
        assert result["email"] == "work@example.test"
        with pytest.raises(Exception, match="invalid or expired"):
            call_as(
                admin_url,
                user,
                "select api.accounts_confirm_contact_email_change(%s) as r",
                (token,),
            )
        enqueue(
            admin,
            {
                "template": "certificate_issued",
                "user_id": user.id,
                "data": {"course_title": "Web 101"},
            },
        )
        drain(worker)
        admin.execute("delete from auth.users where id = %s", (user.id,))
        drain(worker)
    assert [m["template"] for m in mailbox(admin, "work@example.test")] == [
        "verify_email",
        "certificate_issued",
    ]
    assert [m["template"] for m in mailbox(admin, user.email)] == ["welcome", "goodbye"]


def test_a_worker_killed_mid_delivery_delivers_exactly_once(app_url, admin, fake_resend, tmp_path):
    admin.execute("update ops.outbox set status = 'done' where status = 'pending'")
    fake_resend.hold.set()  # the first call hangs until the worker is dead
    env = {
        **os.environ,
        "DATABASE_URL": app_url,
        "RESEND_API_KEY": "re_test_kill",
        "RESEND_API_URL": fake_resend.url,
        "SYNC_POLL_INTERVAL": "1",
    }
    log = (tmp_path / "sync.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "sync"], env=env, stderr=log, stdout=log)
    try:
        job = enqueue(
            admin,
            {
                "template": "ctf_starting_soon",
                "to": "player@example.test",
                "data": {"event_title": "Night CTF"},
            },
        )
        deadline = time.monotonic() + 20
        while not fake_resend.requests:
            assert process.poll() is None and time.monotonic() < deadline, (
                tmp_path / "sync.log"
            ).read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)  # mid-delivery: Resend got it, the job is not done
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    fake_resend.release.set()
    row = admin.execute("select status from ops.outbox where id = %s", (job,)).fetchone()
    assert row["status"] == "processing"
    # The claim goes stale (time moved by editing the row); another worker retries it.
    admin.execute(
        "update ops.outbox set locked_at = now() - interval '1 hour' where id = %s", (job,)
    )
    with email_worker(app_url, resend_api_key="re_test_kill", resend_api_url=fake_resend.url) as w:
        drain(w)
    row = admin.execute("select status, attempts from ops.outbox where id = %s", (job,)).fetchone()
    assert (row["status"], row["attempts"]) == ("done", 2)
    keys = [r["headers"]["Idempotency-Key"] for r in fake_resend.requests]
    assert keys == [f"flagship-outbox-{job}"] * 2  # sent twice with one key ...
    assert len(fake_resend.emails) == 1  # ... so Resend delivered exactly one email


def test_unknown_template_goes_dead_with_the_error(app_url, admin):
    job = enqueue(admin, {"template": "nope", "to": "x@example.test"})
    admin.execute("update ops.outbox set max_attempts = 1 where id = %s", (job,))
    with email_worker(app_url) as worker:
        drain(worker)
    row = admin.execute(
        "select status, last_error from ops.outbox where id = %s", (job,)
    ).fetchone()
    assert row["status"] == "dead" and "unknown template" in row["last_error"]
    assert Job  # the handler contract is sync.handlers.Job
