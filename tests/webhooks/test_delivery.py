"""The delivery worker against local receivers: Standard Webhooks signatures (checked with the
official library), rotation, Svix's retry schedule, failure modes, the delivery log, the
5-day disable with its email, and replay."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from hookkit import SOLVE, local_settings, run_queue
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from flagship.testing.webhooks import Receiver, Reply
from sync import email
from sync.settings import WorkerSettings
from sync.webhooks import MAX_ATTEMPTS, SCHEDULE, WebhookQueue, retry_delay
from sync.worker import Worker


@pytest.fixture
def queue():
    q = WebhookQueue(local_settings())
    yield q
    q.close()


def verify(secret: str, request) -> dict:
    return Webhook(secret).verify(request.body, request.headers)


def test_the_svix_schedule_with_jitter():
    assert SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)  # after attempts 1..7
    assert MAX_ATTEMPTS == 8  # the first one immediately, then 7 retries
    for attempt, base in enumerate(SCHEDULE, start=1):
        delays = {retry_delay(attempt) for _ in range(40)}
        assert all(base * 0.9 <= d <= base * 1.1 for d in delays), (attempt, delays)
        assert len(delays) > 1  # jittered
        scaled = retry_delay(attempt, scale=0.01)
        assert base * 0.009 <= scaled <= base * 0.011


def test_a_delivery_is_signed_and_verifies_with_the_official_library(hooks, queue):
    with Receiver() as rx:
        ep = hooks.endpoint(rx.url, ["ctf.solve"])
        hooks.emit("ctf.solve", SOLVE)
        with Worker(hooks.app_url, handlers={}, queues=[queue]) as worker:
            worker.run_once()  # the worker loop works the webhook queue after the outbox
        (request,) = rx.wait_for(1)
    message = hooks.sql("select * from events.messages")[0]
    assert request.headers["webhook-id"] == message["id"]
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 10
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert verify(ep["secret"], request) == message["payload"]
    assert json.loads(request.body) == {
        "type": "ctf.solve",
        "timestamp": message["payload"]["timestamp"],
        "data": SOLVE,
    }
    with pytest.raises(WebhookVerificationError):  # another secret does not verify it
        Webhook("whsec_" + "QUJD" * 10 + "QUI=").verify(request.body, request.headers)
    tampered = request.body.replace(b"500", b"900")
    with pytest.raises(WebhookVerificationError):
        Webhook(ep["secret"]).verify(tampered, request.headers)
    (delivery,) = hooks.deliveries()
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
        "delivered",
        1,
        200,
    )
    (attempt,) = hooks.attempts()
    assert (attempt["outcome"], attempt["response_status"], attempt["response_body"]) == (
        "delivered",
        200,
        "ok",
    )
    assert attempt["latency_ms"] >= 0 and attempt["error"] is None


def test_rotation_signs_with_the_old_and_the_new_secret(hooks, queue):
    with Receiver() as rx:
        ep = hooks.endpoint(rx.url)
        rotated = hooks.call(
            "events_rotate_endpoint_secret", p_endpoint_id=ep["id"], p_overlap_seconds=3600
        )
        hooks.emit()
        run_queue(hooks, queue)
        hooks.sql("update events.endpoint_secrets set expires_at = now() - interval '1 second'"
                  " where expires_at is not null")  # fmt: skip
        hooks.emit(payload={**SOLVE, "solve_id": 99})
        run_queue(hooks, queue)
        during, after = rx.wait_for(2)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verify(ep["secret"], during)["data"]["solve_id"] == 1  # a receiver not yet updated
    assert verify(rotated["secret"], during)["data"]["solve_id"] == 1  # one already updated
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verify(rotated["secret"], after)["data"]["solve_id"] == 99
    with pytest.raises(WebhookVerificationError):
        verify(ep["secret"], after)


def test_retries_follow_the_schedule_and_stop_at_the_limit(hooks, queue):
    with Receiver(lambda n, r: Reply(status=500, body=b"down")) as rx:
        hooks.endpoint(rx.url)
        hooks.emit()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert run_queue(hooks, queue) == 1
            (row,) = hooks.sql(
                "select status, attempts, extract(epoch from next_attempt_at - updated_at)"
                " as wait from events.deliveries"
            )
            if attempt < MAX_ATTEMPTS:
                assert (row["status"], row["attempts"]) == ("pending", attempt)
                base = SCHEDULE[attempt - 1]
                assert base * 0.89 <= float(row["wait"]) <= base * 1.11, (attempt, row)
                assert run_queue(hooks, queue) == 0  # not due yet
                hooks.make_due()  # tests move time by editing rows, never by sleeping
        assert (row["status"], row["attempts"]) == ("failed", MAX_ATTEMPTS)
        hooks.make_due()
        assert run_queue(hooks, queue) == 0  # no ninth attempt
        received = rx.wait_for(MAX_ATTEMPTS)
    assert len(received) == MAX_ATTEMPTS
    assert len({r.headers["webhook-id"] for r in received}) == 1  # one idempotency key
    log = hooks.attempts()
    assert [a["attempt"] for a in log] == list(range(1, MAX_ATTEMPTS + 1))
    assert {(a["outcome"], a["response_status"], a["error"], a["response_body"]) for a in log} == {
        ("failed", 500, "HTTP 500", "down")
    }


def test_a_scaled_schedule_is_kept_in_real_time(hooks):
    """WEBHOOK_RETRY_SCALE shrinks the schedule (here 5 s → 50 ms, 5 min → 3 s): the worker
    loop, left running, retries no earlier than the schedule says."""
    q = WebhookQueue(local_settings(retry_scale=0.01))
    with Receiver(lambda n, r: Reply(status=503)) as rx:
        hooks.endpoint(rx.url)
        worker = Worker(hooks.app_url, handlers={}, queues=[q], poll_interval=0.02)
        hooks.emit()
        deadline = time.monotonic() + 15
        while len(rx.received) < 3 and time.monotonic() < deadline:
            worker.run_once()
            worker.wait(0.02)
        worker.shutdown()
    first, second, third = rx.received[:3]
    assert second.at - first.at >= 5 * 0.01 * 0.9
    assert third.at - second.at >= 300 * 0.01 * 0.9


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=500), "HTTP 500"),
        (Reply(status=404), "HTTP 404"),
        (Reply(status=301, headers={"location": "http://127.0.0.1:1/"}), "redirect not followed"),
        (Reply(delay=1.5), "timeout: waiting for the response"),
        (Reply(reset=True), "connection reset by the receiver"),
        (Reply(body=b"x" * 100, drip=0.03), "timeout: the response was too slow"),
    ],
    ids=["500", "404", "redirect", "timeout", "reset", "slow-drip"],
)
def test_a_failing_receiver_is_retried_then_recovers(hooks, reply, error):
    q = WebhookQueue(local_settings(connect_timeout=0.3, read_timeout=0.5))
    with Receiver(lambda n, r: reply if n == 0 else Reply(delay=0.2)) as rx:  # then slow, ok
        ep = hooks.endpoint(rx.url)
        hooks.emit()
        run_queue(hooks, q)
        (row,) = hooks.deliveries()
        assert (row["status"], row["attempts"]) == ("pending", 1)
        assert row["last_error"].startswith(error)
        failing = hooks.sql("select failing_since from events.endpoints")[0]["failing_since"]
        assert failing is not None
        hooks.make_due()
        run_queue(hooks, q)
        first, second = rx.wait_for(2)
    q.close()
    (row,) = hooks.deliveries()
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert verify(ep["secret"], second)["data"] == {**SOLVE, "solve_id": 1}
    log = hooks.attempts()
    assert [a["outcome"] for a in log] == ["failed", "delivered"]
    assert log[0]["error"].startswith(error)
    assert hooks.sql("select failing_since from events.endpoints")[0]["failing_since"] is None


def test_an_endpoint_failing_for_5_days_is_disabled_and_its_owner_emailed(hooks, queue):
    with Receiver(lambda n, r: Reply(status=500)) as rx:
        ep = hooks.endpoint(rx.url)
        healthy = hooks.endpoint(rx.url.replace("/hook", "/other"))
        hooks.emit(n=2)
        hooks.sql("update events.endpoints set failing_since = now() - interval '4 days 23 hours'")
        run_queue(hooks, queue)
        assert {r["enabled"] for r in hooks.sql("select enabled from events.endpoints")} == {
            True
        }  # under 5 days: still retrying
        hooks.sql(
            "update events.endpoints set failing_since = now() - interval '5 days 1 minute'"
            " where id = %s",
            (ep["id"],),
        )
        hooks.make_due()
        run_queue(hooks, queue)
    endpoints = {str(r["id"]): r for r in hooks.sql("select * from events.endpoints")}
    assert (endpoints[ep["id"]]["enabled"], endpoints[ep["id"]]["disabled_reason"]) == (
        False,
        "failing",
    )
    assert endpoints[healthy["id"]]["enabled"] is True
    statuses = hooks.sql(
        "select status, count(*)::int as n from events.deliveries where endpoint_id = %s"
        " group by status",
        (ep["id"],),
    )
    assert {r["status"]: r["n"] for r in statuses} == {"cancelled": 2}
    (job,) = hooks.sql(
        "select * from ops.outbox where topic = 'email.send'"
        " and payload ->> 'template' = 'webhook_endpoint_disabled'"
    )
    assert job["payload"]["user_id"] == hooks.admin.id
    # The email leaves through the existing email.send handler, into the local mailbox.
    handler = email.email_send(WorkerSettings.from_env({"DATABASE_URL": hooks.app_url}))
    with Worker(hooks.app_url, handlers={"email.send": handler}, queues=[]) as worker:
        while worker.run_once():
            pass
    (mail,) = hooks.sql("select * from ops.mailbox where template = 'webhook_endpoint_disabled'")
    assert mail["to_address"] == hooks.admin.email
    assert mail["subject"] == "Your webhook endpoint was disabled"
    assert rx.url in mail["text_body"] and "api.events_replay_since" in mail["text_body"]


def test_replay_one_message_and_everything_since(hooks, queue):
    with Receiver() as rx:
        ep = hooks.endpoint(rx.url)
        start = datetime.now(UTC) - timedelta(seconds=1)
        hooks.emit(n=3)
        run_queue(hooks, queue)
        first = rx.wait_for(3)
        one = first[1].headers["webhook-id"]
        assert hooks.call("events_replay_message", p_endpoint_id=ep["id"], p_message_id=one) == 1
        run_queue(hooks, queue)
        again = rx.wait_for(4)[3]
        assert again.headers["webhook-id"] == one
        assert verify(ep["secret"], again) == json.loads(first[1].body)
        assert hooks.call("events_replay_since", p_endpoint_id=ep["id"], p_since=start) == 3
        run_queue(hooks, queue)
        received = rx.wait_for(7)
    assert sorted(r.headers["webhook-id"] for r in received[4:]) == sorted(
        r.headers["webhook-id"] for r in first
    )
    replays = hooks.sql(
        "select count(*)::int as n from events.deliveries where replay_of is not null"
    )
    assert replays[0]["n"] == 4
