"""api.events_*: endpoint management (admins only), validation, secrets shown once and never
readable again, and the fan-out from the outbox in the event's transaction."""

from __future__ import annotations

import base64
import json
import re
from types import SimpleNamespace

import jsonschema_rs
import pytest
from psycopg import sql

from flagship.testing.harness import api_error, create_user, denied, grant_roles, query, rpc

SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")
SOLVE = {
    "solve_id": 7,
    "event_id": "4e5f6071-8293-4dae-bfc0-3b4c5d6e7f80",
    "challenge_id": "5f607182-93a4-4ebf-c0d1-4c5d6e7f8091",
    "team_id": "60718293-a4b5-4fc0-d1e2-5d6e7f8091a2",
    "user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00",
    "points": 500,
    "blood_rank": 1,
}


@pytest.fixture
def scene(db):
    admin = grant_roles(db, create_user(db, username="hook_admin"), "admin")
    member = create_user(db, username="hook_member")
    return SimpleNamespace(admin=admin, member=member)


def create(db, who, url="https://hooks.example.com/in", topics=None, description=None) -> dict:
    return rpc(
        db,
        who,
        "events_create_endpoint",
        p_url=url,
        p_topics=topics,
        p_description=description,
    )


def enqueue(db, topic: str, payload: dict) -> int:
    return db.execute(
        "select ops.enqueue(%s, %s::jsonb) as id", (topic, json.dumps(payload))
    ).fetchone()["id"]


def test_create_returns_the_secret_once(db, scene):
    ep = create(db, scene.admin, topics=["ctf.solve", "ctf.first_blood", "ctf.solve"])
    assert SECRET.match(ep["secret"])
    assert len(base64.b64decode(ep["secret"].removeprefix("whsec_"))) == 32
    assert ep["topics"] == ["ctf.first_blood", "ctf.solve"]  # sorted, deduplicated
    assert (ep["enabled"], ep["owner_id"], ep["description"]) == (True, scene.admin.id, "")
    listed = query(db, scene.admin, "select * from api.events_endpoints")
    assert [str(r["id"]) for r in listed] == [ep["id"]]
    assert "secret" not in listed[0] and ep["secret"] not in json.dumps(listed, default=str)
    again = create(db, scene.admin)
    assert again["secret"] != ep["secret"] and again["topics"] is None  # null: every topic


def test_only_admins_manage_endpoints(db, scene):
    with api_error(db, "forbidden", "42501"):
        create(db, scene.member)
    for who in ("anon", "service_role"):  # not granted at all
        with denied(db):
            create(db, who)
    ep = create(db, scene.admin)
    for fn, kwargs in [
        ("events_update_endpoint", {"p_changes": {"enabled": False}}),
        ("events_rotate_endpoint_secret", {}),
        ("events_delete_endpoint", {}),
        ("events_replay_since", {"p_since": "2026-01-01T00:00:00Z"}),
    ]:
        with api_error(db, "forbidden", "42501"):
            rpc(db, scene.member, fn, p_endpoint_id=ep["id"], **kwargs)
    assert query(db, scene.member, "select * from api.events_endpoints") == []
    assert query(db, scene.member, "select * from api.events_delivery_attempts") == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/x", "malformed"),
        ("https://user:pw@hooks.example.com/x", "malformed"),
        ("https://hooks.example.com/x#frag", "malformed"),
        ("https://hooks example.com/x", "malformed"),
        ("https://hooks.example.com:70000/x", "port"),
        ("http://169.254.169.254/latest/meta-data/", "address"),
        ("http://10.0.0.5/hook", "address"),
        ("http://192.168.1.1/hook", "address"),
        ("http://100.64.0.1/hook", "address"),
        ("http://[fd00:ec2::254]/hook", "address"),
        ("http://[::ffff:10.0.0.1]/hook", "address"),
        ("https://metadata.google.internal/x", "metadata"),
    ],
)
def test_refused_urls(db, scene, url, reason):
    db.execute("savepoint u")
    with pytest.raises(Exception) as info:
        create(db, scene.admin, url=url)
    db.execute("rollback to savepoint u")
    assert info.value.diag.message_hint == "events_url_refused"
    assert json.loads(info.value.diag.message_detail)["reason"] == reason
    assert db.execute("select count(*) as n from events.endpoints").fetchone()["n"] == 0


def test_topic_filters_come_from_the_catalogue(db, scene):
    with api_error(db, "events_topic_unknown", "22023"):
        create(db, scene.admin, topics=["ctf.solve", "no.such_topic"])
    with api_error(db, "events_topic_unknown", "22023"):
        create(db, scene.admin, topics=["email.send"])  # not open to webhooks
    with api_error(db, "invalid_argument", "22023"):
        create(db, scene.admin, topics=[])
    eligible = {r["topic"] for r in db.execute("select topic from ops.event_types where webhooks")}
    assert {"ctf.solve", "ctf.first_blood", "certificate.issued"} <= eligible
    assert "learning.course_completed" in eligible
    assert create(db, scene.admin, topics=sorted(eligible))["topics"] == sorted(eligible)


def test_update_disable_enable_and_delete(db, scene):
    ep = create(db, scene.admin, topics=["ctf.solve"])
    enqueue(db, "ctf.solve", SOLVE)
    upd = rpc(
        db,
        scene.admin,
        "events_update_endpoint",
        p_endpoint_id=ep["id"],
        p_changes={"description": "LMS mirror", "topics": None, "enabled": False},
    )
    assert (upd["description"], upd["topics"], upd["enabled"]) == ("LMS mirror", None, False)
    assert upd["disabled_reason"] == "manual" and "secret" not in upd
    statuses = db.execute("select status from events.deliveries").fetchall()
    assert [r["status"] for r in statuses] == ["cancelled"]
    with api_error(db, "events_endpoint_disabled", "PT403"):
        rpc(db, scene.admin, "events_replay_since", p_endpoint_id=ep["id"], p_since="2026-01-01")
    db.execute("update events.endpoints set failing_since = now() where id = %s", (ep["id"],))
    upd = rpc(
        db,
        scene.admin,
        "events_update_endpoint",
        p_endpoint_id=ep["id"],
        p_changes={"enabled": True},
    )
    assert (upd["enabled"], upd["disabled_reason"], upd["failing_since"]) == (True, None, None)
    with api_error(db, "invalid_argument", "22023"):
        rpc(db, scene.admin, "events_update_endpoint", p_endpoint_id=ep["id"], p_changes={"x": 1})
    with api_error(db, "events_url_refused", "22023"):
        rpc(
            db,
            scene.admin,
            "events_update_endpoint",
            p_endpoint_id=ep["id"],
            p_changes={"url": "http://10.1.1.1/"},
        )
    rpc(db, scene.admin, "events_delete_endpoint", p_endpoint_id=ep["id"])
    with api_error(db, "events_endpoint_not_found", "PT404"):
        rpc(db, scene.admin, "events_delete_endpoint", p_endpoint_id=ep["id"])
    assert db.execute("select count(*) as n from events.deliveries").fetchone()["n"] == 0


def test_rotation_keeps_the_old_secret_for_the_overlap(db, scene):
    ep = create(db, scene.admin)
    rotated = rpc(
        db, scene.admin, "events_rotate_endpoint_secret", p_endpoint_id=ep["id"],
        p_overlap_seconds=3600,
    )  # fmt: skip
    assert SECRET.match(rotated["secret"]) and rotated["secret"] != ep["secret"]
    rows = db.execute(
        "select secret, expires_at > now() + interval '59 minutes' as overlap, expires_at"
        " from events.endpoint_secrets where endpoint_id = %s order by id",
        (ep["id"],),
    ).fetchall()
    assert [(r["secret"], r["overlap"]) for r in rows] == [
        (ep["secret"], True),
        (rotated["secret"], None),
    ]
    with api_error(db, "invalid_argument", "22023"):
        rpc(
            db, scene.admin, "events_rotate_endpoint_secret", p_endpoint_id=ep["id"],
            p_overlap_seconds=8 * 86400,
        )  # fmt: skip


def test_a_secret_is_never_readable_afterwards(db, scene):
    """Attack: after the create / rotate answers, look for the secrets everywhere an API
    caller can reach — tables, every api view, RPC answers, audit log, outbox, messages."""
    ep = create(db, scene.admin, topics=["ctf.solve"], description="attack")
    rotated = rpc(db, scene.admin, "events_rotate_endpoint_secret", p_endpoint_id=ep["id"])
    secrets = [ep["secret"], rotated["secret"]]
    enqueue(db, "ctf.solve", SOLVE)
    db.execute("update events.endpoints set failing_since = now() - interval '6 days'")
    db.execute("select private.events_disable_failing(interval '5 days')")  # emails the owner

    for who in (scene.admin, scene.member, "anon", "service_role"):
        with denied(db):
            query(db, who, "select * from events.endpoint_secrets")
        with denied(db):
            query(db, who, "select * from events.claim_deliveries('x', 10)")
    for role in ("anon", "authenticated", "service_role"):
        for fn in (
            "events.claim_deliveries(text, integer)",
            "events.finish_deliveries(text, jsonb, interval)",
            "private.events_new_secret()",
        ):
            allowed = db.execute(
                "select has_function_privilege(%s, %s, 'execute') as ok", (role, fn)
            ).fetchone()["ok"]
            assert not allowed, (role, fn)
        assert not db.execute(
            "select has_table_privilege(%s, 'events.endpoint_secrets', 'select') as ok", (role,)
        ).fetchone()["ok"]

    seen: list[str] = []
    views = db.execute(
        "select c.relname from pg_class c where c.relnamespace = 'api'::regnamespace"
        " and c.relkind = 'v' order by 1"
    ).fetchall()
    assert len(views) > 50
    for v in views:
        stmt = sql.SQL("select coalesce(jsonb_agg(to_jsonb(t)), '[]')::text as j from api.{} t")
        rows = query(db, scene.admin, stmt.format(sql.Identifier(v["relname"])).as_string(db))
        seen.append(rows[0]["j"])
    answers = [
        rpc(db, scene.admin, "events_update_endpoint", p_endpoint_id=ep["id"], p_changes={}),
        rpc(db, scene.admin, "events_update_endpoint", p_endpoint_id=ep["id"],
            p_changes={"enabled": True}),
    ]  # fmt: skip
    for table in ("ops.audit_log", "ops.outbox", "events.messages", "events.endpoints"):
        seen.append(db.execute(f"select jsonb_agg(to_jsonb(t))::text as j from {table} t")
                    .fetchone()["j"] or "")  # fmt: skip
    haystack = "\n".join(seen) + json.dumps(answers, default=str)
    assert "webhook_endpoint_disabled" in haystack and ep["id"] in haystack  # we looked
    for secret in secrets:
        assert secret not in haystack
        assert secret.removeprefix("whsec_") not in haystack


def test_a_webhook_topic_fans_out_in_the_event_transaction(db, scene):
    solve_only = create(db, scene.admin, topics=["ctf.solve"])
    everything = create(db, scene.admin)
    other = create(db, scene.admin, topics=["certificate.issued"])
    disabled = create(db, scene.admin)
    rpc(db, scene.admin, "events_update_endpoint", p_endpoint_id=disabled["id"],
        p_changes={"enabled": False})  # fmt: skip

    db.execute("savepoint event")
    enqueue(db, "ctf.solve", SOLVE)
    db.execute("rollback to savepoint event")  # a rolled-back event sends nothing
    assert db.execute("select count(*) as n from events.messages").fetchone()["n"] == 0

    outbox_id = enqueue(db, "ctf.solve", SOLVE)
    message = db.execute("select * from events.messages").fetchone()
    assert message["outbox_id"] == outbox_id and message["id"].startswith("msg_")
    payload = message["payload"]
    assert set(payload) == {"type", "timestamp", "data"}
    assert payload["type"] == "ctf.solve" and payload["data"] == SOLVE
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", payload["timestamp"])
    schema = db.execute(
        "select payload_schema from ops.event_types where topic = 'ctf.solve'"
    ).fetchone()["payload_schema"]
    assert jsonschema_rs.validator_for(schema).is_valid(payload["data"])
    targets = {
        r["endpoint_id"]
        for r in db.execute("select endpoint_id::text from events.deliveries").fetchall()
    }
    assert targets == {solve_only["id"], everything["id"]}
    assert other["id"] not in targets and disabled["id"] not in targets

    enqueue(db, "email.send", {"template": "welcome", "to": "a@example.test"})
    assert db.execute("select count(*) as n from events.messages").fetchone()["n"] == 1
    shown = query(db, scene.admin, "select * from api.events_messages")
    assert [m["id"] for m in shown] == [message["id"]]


def test_no_endpoint_no_message(db, scene):
    create(db, scene.admin, topics=["certificate.issued"])
    enqueue(db, "ctf.first_blood", {k: v for k, v in SOLVE.items() if k not in ("points",)})
    assert db.execute("select count(*) as n from events.messages").fetchone()["n"] == 0


def test_replay_needs_a_message_the_endpoint_was_sent(db, scene):
    ep = create(db, scene.admin)
    enqueue(db, "ctf.solve", SOLVE)
    msg = db.execute("select id from events.messages").fetchone()["id"]
    # still pending: a replay of an open delivery queues nothing
    assert rpc(db, scene.admin, "events_replay_message", p_endpoint_id=ep["id"],
               p_message_id=msg) == 0  # fmt: skip
    db.execute("update events.deliveries set status = 'delivered'")
    assert rpc(db, scene.admin, "events_replay_message", p_endpoint_id=ep["id"],
               p_message_id=msg) == 1  # fmt: skip
    replay = db.execute("select * from events.deliveries where replay_of is not null").fetchone()
    assert (replay["message_id"], replay["status"]) == (msg, "pending")
    with api_error(db, "events_message_not_found", "PT404"):
        rpc(db, scene.admin, "events_replay_message", p_endpoint_id=ep["id"],
            p_message_id="msg_" + "0" * 32)  # fmt: skip
    with api_error(db, "invalid_argument", "22023"):
        rpc(db, scene.admin, "events_replay_since", p_endpoint_id=ep["id"],
            p_since="2999-01-01T00:00:00Z")  # fmt: skip
    db.execute("update events.deliveries set status = 'delivered'")
    assert rpc(db, scene.admin, "events_replay_since", p_endpoint_id=ep["id"],
               p_since="2000-01-01T00:00:00Z") == 1  # fmt: skip


def test_at_most_100_endpoints(db, scene):
    db.execute(
        "insert into events.endpoints (owner_id, url)"
        " select %s, 'https://h' || g || '.example.com/' from generate_series(1, 100) g",
        (scene.admin.id,),
    )
    with api_error(db, "events_endpoint_limit", "PT409"):
        create(db, scene.admin)
