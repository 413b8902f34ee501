"""The storage rules the database enforces whoever writes: buckets as config.toml says, safe
paths, size limits, allowlists and quotas (under concurrency), and the jobs and records the
files triggers keep (certificate PDFs, avatar variants, challenge file hashes, orphans)."""

from __future__ import annotations

import json
import threading
import tomllib

import psycopg
import pytest
from storage_scene import build_storage_scene, put_object

from flagship import config
from flagship.database import connect
from flagship.testing.harness import api_error, create_user, denied, grant_roles, query, scalar

SIZES = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def configured_buckets() -> dict[str, dict]:
    data = tomllib.loads((config.SUPABASE_DIR / "config.toml").read_text())
    out = {}
    for name, bucket in data["storage"]["buckets"].items():
        number, unit = bucket["file_size_limit"][:-3], bucket["file_size_limit"][-3:]
        out[name] = {
            "public": bucket["public"],
            "file_size_limit": int(number) * SIZES[unit],
            "allowed_mime_types": bucket["allowed_mime_types"],
        }
    return out


def test_config_toml_lists_the_buckets_exactly_as_the_migrations_create_them(db):
    rows = db.execute(
        "select id, public, file_size_limit, allowed_mime_types from storage.buckets"
    ).fetchall()
    in_db = {
        r["id"]: {k: r[k] for k in ("public", "file_size_limit", "allowed_mime_types")}
        for r in rows
    }
    assert in_db == configured_buckets()


def test_every_bucket_has_an_allowlist_and_a_size_limit(db):
    rows = db.execute(
        "select id from storage.buckets where allowed_mime_types is null"
        " or cardinality(allowed_mime_types) = 0 or file_size_limit is null"
    ).fetchall()
    assert rows == []


# -- The guard -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["u/../../etc/passwd", "/abs.png", "a//b.png", "a/./b.png", "a\\b.png", "a/\x01.png"]
)
def test_unsafe_paths_are_refused_for_everyone(db, name):
    user = create_user(db)
    with api_error(db, "file_path_invalid", "22023"):
        put_object(db, "avatars", name, user.id, "image/png")
    with api_error(db, "file_path_invalid", "22023"):
        query(
            db,
            user,
            "insert into storage.objects (bucket_id, name) values ('avatars', %s)",
            (f"{user.id}/../x.png",),
        )
    assert db.execute("select count(*) as n from storage.objects where name = %s", (name,))
    assert (
        scalar(db, "service_role", "select count(*) from storage.objects where name = %s", (name,))
        == 0
    )


def test_over_the_bucket_limit_or_outside_the_allowlist(db):
    user = create_user(db)
    with api_error(db, "file_too_large", "PT413"):
        put_object(db, "avatars", f"{user.id}/big.png", user.id, "image/png", size=2 << 20)
    with api_error(db, "file_type_not_allowed", "PT415"):
        put_object(db, "avatars", f"{user.id}/page.html", user.id, "text/html")
    put_object(db, "avatars", f"{user.id}/ok.png", user.id, "image/png; charset=binary")


def test_usage_follows_inserts_replacements_owner_changes_and_removals(db):
    user = create_user(db)
    usage = "select bytes, objects from files.usage where user_id = %s"
    put_object(db, "avatars", f"{user.id}/a.png", user.id, "image/png", size=1000)
    put_object(db, "avatars", f"{user.id}/b.png", user.id, "image/png", size=500)
    assert db.execute(usage, (user.id,)).fetchone() == {"bytes": 1500, "objects": 2}
    db.execute(
        "update storage.objects set metadata = metadata || '{\"size\": 100}' where name = %s",
        (f"{user.id}/a.png",),
    )
    assert db.execute(usage, (user.id,)).fetchone() == {"bytes": 600, "objects": 2}
    db.execute("delete from storage.objects where name = %s", (f"{user.id}/b.png",))
    assert db.execute(usage, (user.id,)).fetchone() == {"bytes": 100, "objects": 1}
    assert scalar(db, user, "select api.files_get_my_usage()") == {
        "bytes": 100,
        "objects": 1,
        "quota": 100 << 20,
    }


def test_the_quota_follows_the_plan_and_roles(db):
    member = create_user(db)
    teacher = grant_roles(db, create_user(db), "instructor")
    admin = grant_roles(db, create_user(db), "admin")
    quota = "select private.files_quota(%s) as q"
    assert db.execute(quota, (member.id,)).fetchone()["q"] == 100 << 20
    assert db.execute(quota, (teacher.id,)).fetchone()["q"] == 20 << 30
    assert db.execute(quota, (admin.id,)).fetchone()["q"] is None
    # A plan feature, through private.user_has_entitlement: give the free plan the feature
    # the 5 GiB row names, and every member's quota follows.
    db.execute(
        "update files.quotas set grantee = 'feature:storage_test' where grantee = 'feature:pro'"
    )
    assert db.execute(quota, (member.id,)).fetchone()["q"] == 100 << 20
    db.execute(
        "update billing.products set features = features || '{storage_test}'"
        " where included_for_everyone and active"
    )
    assert db.execute(quota, (member.id,)).fetchone()["q"] == 5 << 30


def test_over_quota_is_refused_and_nothing_is_written(db):
    user = create_user(db)
    db.execute("update files.quotas set bytes = 1500 where grantee = 'everyone'")
    put_object(db, "forum-attachments", f"{user.id}/1/a.png", user.id, "image/png", size=1000)
    with api_error(db, "file_quota_exceeded", "PT413"):
        put_object(db, "forum-attachments", f"{user.id}/1/b.png", user.id, "image/png", size=600)
    row = db.execute("select bytes, objects from files.usage where user_id = %s", (user.id,))
    assert row.fetchone() == {"bytes": 1000, "objects": 1}
    assert (
        db.execute(
            "select count(*) as n from storage.objects where owner_id = %s", (user.id,)
        ).fetchone()["n"]
        == 1
    )
    # Shrinking an object is always allowed, growing it past the quota is not.
    with api_error(db, "file_quota_exceeded", "PT413"):
        db.execute(
            "update storage.objects set metadata = metadata || '{\"size\": 1600}' where name = %s",
            (f"{user.id}/1/a.png",),
        )


def test_parallel_uploads_cannot_overrun_the_quota_together(fresh_db):
    """Two uploads of 600 bytes against 1,000 left, at the same moment: one wins."""
    with connect(fresh_db) as conn:
        user = create_user(conn)
        conn.execute("update files.quotas set bytes = 1000 where grantee = 'everyone'")
        conn.commit()
    barrier = threading.Barrier(2)
    results: list[str] = []

    def upload(n: int) -> None:
        with connect(fresh_db) as conn:
            barrier.wait()
            try:
                put_object(conn, "avatars", f"{user.id}/{n}.png", user.id, "image/png", 600)
                conn.commit()
                results.append("stored")
            except psycopg.Error as exc:
                results.append(exc.diag.message_hint)

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["file_quota_exceeded", "stored"]
    with connect(fresh_db) as conn:
        row = conn.execute(
            "select bytes, objects from files.usage where user_id = %s", (user.id,)
        ).fetchone()
    assert row == {"bytes": 600, "objects": 1}


def test_another_users_private_object_is_invisible(db):
    scene = build_storage_scene(db)
    for bucket, key in (
        ("contribution-files", "contribution_file"),
        ("certificates", "certificate"),
        ("forum-attachments", "forum_pdf"),
    ):
        assert (
            scalar(
                db,
                scene.other,
                "select count(*) from storage.objects where bucket_id = %s and name = %s",
                (bucket, scene.ids[key]),
            )
            == 0
        )
        assert (
            query(
                db,
                scene.other,
                "delete from storage.objects where name = %s returning 1",
                (scene.ids[key],),
            )
            == []
        )


# -- Jobs and records the triggers keep ------------------------------------------------------


def jobs(db, topic: str) -> list[dict]:
    return [
        r["payload"]
        for r in db.execute(
            "select payload from ops.outbox where topic = %s order by id", (topic,)
        ).fetchall()
    ]


def test_certificate_pdf_jobs_on_issue_revocation_and_reinstatement(db):
    scene = build_storage_scene(db)
    learner = scene.owner
    db.execute(
        "insert into learning.certificates (code, user_id, course_id, holder_name, course_title)"
        " values ('FLG-AAAAAAAAAAAAAAAAAAAAAAAA', %s, %s, 'Owner', 'Storage course')",
        (learner.id, scene.course),
    )
    assert [j["action"] for j in jobs(db, "files.certificate_pdf")] == ["render"]
    scalar(
        db,
        scene.admin,
        "select api.learning_revoke_certificate(%s, %s)",
        ("FLG-AAAAAAAAAAAAAAAAAAAAAAAA", "copied answers"),
    )
    assert [j["action"] for j in jobs(db, "files.certificate_pdf")] == ["render", "remove"]
    source = db.execute(
        "select private.files_certificate_source(id) as s from learning.certificates"
        " where code = 'FLG-AAAAAAAAAAAAAAAAAAAAAAAA'"
    ).fetchone()["s"]
    assert source["path"] == f"{learner.id}/FLG-AAAAAAAAAAAAAAAAAAAAAAAA.pdf"
    assert source["status"] == "revoked"


def test_certificate_pdf_lookup_is_public_for_valid_rendered_certificates(db):
    scene = build_storage_scene(db)
    code = "FLG-BBBBBBBBBBBBBBBBBBBBBBBB"
    db.execute(
        "insert into learning.certificates (code, user_id, course_id, holder_name, course_title)"
        " values (%s, %s, %s, 'Owner', 'Storage course')",
        (code, scene.owner.id, scene.course),
    )
    with api_error(db, "file_not_found", "PT404"):
        scalar(db, "anon", "select api.files_get_certificate_pdf(%s)", (code,))
    put_object(db, "certificates", f"{scene.owner.id}/{code}.pdf", None, "application/pdf")
    assert scalar(db, "anon", "select api.files_get_certificate_pdf(%s)", (code.lower(),)) == {
        "bucket": "certificates",
        "path": f"{scene.owner.id}/{code}.pdf",
        "code": code,
    }
    with api_error(db, "learning_certificate_not_found", "PT404"):
        scalar(db, "anon", "select api.files_get_certificate_pdf('FLG-X')")


def test_an_avatar_queues_its_variants_once_per_version(db):
    user = create_user(db)
    put_object(db, "avatars", f"{user.id}/me.png", user.id, "image/png")
    put_object(db, "avatars", f"{user.id}/variants/me.png/64.webp", None, "image/webp")
    assert jobs(db, "files.avatar_variants") == [{"bucket": "avatars", "name": f"{user.id}/me.png"}]


def ctf_event(db, starts: str):
    organiser = grant_roles(db, create_user(db), "instructor")
    player = create_user(db)
    event = scalar(
        db,
        organiser,
        "select api.ctf_create_event(%s::jsonb)",
        (json.dumps({"slug": "files-ctf", "title": "Files CTF"}),),
    )
    db.execute(
        f"update ctf.events set starts_at = {starts}, ends_at = now() + interval '2 days'"
        " where id = %s",
        (event,),
    )
    challenge = scalar(
        db,
        organiser,
        "select api.ctf_save_challenge(%s, %s::jsonb)",
        (
            event,
            json.dumps({"state": "visible", "title": "Zip", "category": "misc", "initial": 100}),
        ),
    )
    scalar(db, player, "select api.ctf_create_team(%s, %s)", (event, "Files team"))
    return organiser, player, event, challenge


def test_challenge_files_show_the_inspected_sha256(db):
    organiser, player, event, challenge = ctf_event(db, "now() - interval '1 hour'")
    path = f"{event}/{challenge}/chall.zip"
    put_object(db, "challenge-files", path, organiser.id, "application/zip")
    file_id = scalar(
        db, organiser, "select api.ctf_add_file(%s, 'chall.zip', %s)", (challenge, path)
    )
    digest = "ab" * 32
    db.execute(
        "select private.files_record_upload('challenge-files', %s, %s, %s, 10,"
        " 'application/zip', %s)",
        (path, organiser.id, digest, "cd" * 32),
    )
    seen = scalar(
        db, player, "select sha256 from api.ctf_challenge_files where id = %s", (file_id,)
    )
    assert seen == digest
    db.execute("delete from storage.objects where name = %s", (path,))
    assert (
        scalar(
            db, organiser, "select sha256 from api.ctf_challenge_files where id = %s", (file_id,)
        )
        is None
    )


def test_challenge_files_before_the_start_are_for_organisers_only(db):
    organiser, player, event, challenge = ctf_event(db, "now() + interval '1 hour'")
    path = f"{event}/{challenge}/early.zip"
    put_object(db, "challenge-files", path, organiser.id, "application/zip")
    count = "select count(*) from storage.objects where bucket_id = 'challenge-files' and name = %s"
    assert scalar(db, player, count, (path,)) == 0
    assert scalar(db, organiser, count, (path,)) == 1
    db.execute(
        "update ctf.events set starts_at = now() - interval '1 minute' where id = %s", (event,)
    )
    assert scalar(db, player, count, (path,)) == 1


def test_orphans_and_a_users_objects(db):
    scene = build_storage_scene(db)
    db.execute("update storage.objects set created_at = now() - interval '2 days'")
    db.execute(
        "update accounts.profiles set avatar_path = %s where id = %s",
        (scene.ids["avatar"], scene.owner.id),
    )
    put_object(db, "avatars", f"{scene.owner.id}/old.png", scene.owner.id, "image/png")
    db.execute(
        "update storage.objects set created_at = now() - interval '2 days' where name = %s",
        (f"{scene.owner.id}/old.png",),
    )
    db.execute("delete from community.posts where id = %s", (scene.hidden_post,))
    orphans = {
        (r["bucket_id"], r["name"])
        for r in db.execute("select bucket_id, name from private.files_orphans()").fetchall()
    }
    assert orphans == {
        ("avatars", f"{scene.owner.id}/old.png"),
        ("certificates", scene.ids["certificate"]),
        ("forum-attachments", scene.ids["hidden_image"]),
    }
    assert db.execute("select private.files_enqueue_orphan_cleanup() as n").fetchone()["n"] == 3
    batches = {j["bucket"]: sorted(j["names"]) for j in jobs(db, "files.remove_objects")}
    assert batches["avatars"] == [f"{scene.owner.id}/old.png"]
    assert (
        db.execute("select every from ops.schedules where name = 'files.clean_orphans'")
        .fetchone()["every"]
        .total_seconds()
        == 3600
    )
    mine = {
        r["name"]
        for r in db.execute(
            "select name from private.files_objects_of_user(%s)", (scene.owner.id,)
        ).fetchall()
    }
    assert scene.ids["certificate"] in mine and scene.ids["avatar"] in mine
    assert scene.ids["cover"] not in mine


def test_every_removal_is_audited(db):
    user = create_user(db)
    put_object(db, "avatars", f"{user.id}/x.png", user.id, "image/png", size=42)
    query(db, user, "delete from storage.objects where name = %s", (f"{user.id}/x.png",))
    row = db.execute(
        "select actor_id, details from ops.audit_log where action = 'files.object_removed'"
        " and target_id = %s",
        (f"avatars/{user.id}/x.png",),
    ).fetchone()
    assert str(row["actor_id"]) == user.id
    assert row["details"] == {
        "bucket": "avatars",
        "name": f"{user.id}/x.png",
        "owner": user.id,
        "size": 42,
    }
    json.dumps(row["details"])
    with denied(db):
        query(db, user, "delete from ops.audit_log")


def test_the_queued_payloads_match_their_catalogue_schemas(db):
    """What the triggers really queue passes the worker's strict payload check."""
    from jsonschema import Draft202012Validator

    from flagship.json_schema import FORMATS
    from sync.catalogue import payload_errors

    scene = build_storage_scene(db)
    db.execute(
        "insert into learning.certificates (code, user_id, course_id, holder_name, course_title)"
        " values ('FLG-CCCCCCCCCCCCCCCCCCCCCCCC', %s, %s, 'Owner', 'Storage course')",
        (scene.owner.id, scene.course),
    )
    db.execute("update storage.objects set created_at = now() - interval '2 days'")
    db.execute("select private.files_enqueue_orphan_cleanup()")
    db.execute("select private.erase_user(%s, 'test')", (scene.other.id,))
    rows = db.execute(
        "select o.topic, o.payload, e.payload_schema from ops.outbox as o"
        " join ops.event_types as e on e.topic = o.topic"
        " where o.topic like 'files.%%' or o.topic = 'accounts.user_deleted'"
    ).fetchall()
    assert {r["topic"] for r in rows} >= {
        "files.certificate_pdf",
        "files.avatar_variants",
        "files.remove_objects",
        "accounts.user_deleted",
    }
    for row in rows:
        validator = Draft202012Validator(row["payload_schema"], format_checker=FORMATS)
        assert payload_errors(validator, row["payload"]) == [], row
