"""The safe-upload pipeline and the files jobs end to end, against the gateway's /storage/v1:
the edge route stores through storage3 with the service key; the worker's handlers render
certificate PDFs (opened with pypdf, QR decoded with zxing-cpp), make avatar variants, and
remove a deleted account's objects and orphans, every removal audited."""

from __future__ import annotations

import hashlib
import io
import json
import os

import httpx
import pypdf
import pytest
import zxingcpp
from PIL import Image
from storage3 import SyncStorageClient
from storage3.exceptions import StorageApiError

from files.certificates import verify_url
from flagship.database import connect
from flagship.testing import samples
from flagship.testing.harness import claims_for, scalar
from sync.handlers import Job
from sync.settings import WorkerSettings
from sync.topics import build


@pytest.fixture(scope="module")
def gw(storage_gw):
    """The gateway, with the edge and the worker pointed at its /storage/v1."""
    mp = pytest.MonkeyPatch()
    mp.setenv("STORAGE_URL", storage_gw.storage_url)
    yield storage_gw
    mp.undo()


@pytest.fixture(scope="module")
def handlers(gw):
    env = {**os.environ, "DATABASE_URL": gw.admin_url, "STORAGE_URL": gw.storage_url}
    return build(WorkerSettings.from_env(env))


def run_jobs(gw, handlers, topic: str) -> int:
    """Deliver every pending job of `topic` with its real handler; how many ran."""
    with connect(gw.admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "update ops.outbox set status = 'done', processed_at = now()"
            " where topic = %s and status = 'pending' returning *",
            (topic,),
        ).fetchall()
    for row in rows:
        handlers[topic](Job.from_row(row))
    return len(rows)


def upload(gw, who: str, bucket: str, path: str, data: bytes, content_type: str, **headers):
    return httpx.post(
        f"{gw.url}/functions/v1/files/upload/{bucket}/{path}",
        content=data,
        headers={**gw.headers(who), "content-type": content_type, **headers},
        timeout=60,
    )


def client_as(gw, who: str) -> SyncStorageClient:
    return SyncStorageClient(gw.storage_url, gw.headers(who))


def audit(gw, action: str, target: str) -> list[dict]:
    with connect(gw.admin_url, autocommit=True) as conn:
        return conn.execute(
            "select reason, details from ops.audit_log where action = %s and target_id = %s",
            (action, target),
        ).fetchall()


def test_an_avatar_is_cleaned_stored_recorded_and_gets_its_variants(gw, handlers):
    owner = gw.scene["users"]["owner"]["id"]
    photo = samples.jpeg_with_gps()
    response = upload(gw, "owner", "avatars", f"{owner}/face.jpg", photo, "image/jpeg")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["Key"] == f"avatars/{owner}/face.jpg" and body["cleaned"]
    stored = client_as(gw, "other").from_("avatars").download(f"{owner}/face.jpg")
    assert hashlib.sha256(stored).hexdigest() == body["sha256"] != body["original_sha256"]
    assert b"SpyCam" not in stored and dict(Image.open(io.BytesIO(stored)).getexif()) == {}
    row = next(r for r in gw.rows("avatars") if r["name"] == f"{owner}/face.jpg")
    assert row["owner_id"] == owner
    with connect(gw.admin_url, autocommit=True) as conn:
        recorded = conn.execute(
            "select sha256, size from files.uploads where name = %s", (f"{owner}/face.jpg",)
        ).fetchone()
        used = conn.execute(
            "select bytes from files.usage where user_id = %s", (owner,)
        ).fetchone()["bytes"]
    assert recorded == {"sha256": body["sha256"], "size": len(stored)}
    assert used >= len(stored)
    assert run_jobs(gw, handlers, "files.avatar_variants") >= 1
    for size in (64, 128, 256):
        variant = (
            client_as(gw, "anon")
            .from_("avatars")
            .download(f"{owner}/variants/face.jpg/{size}.webp")
        )
        assert Image.open(io.BytesIO(variant)).size == (size, size)


def test_an_existing_object_needs_upsert(gw):
    owner = gw.scene["users"]["owner"]["id"]
    first = upload(gw, "owner", "avatars", f"{owner}/twice.png", samples.image("PNG"), "image/png")
    assert first.status_code == 200, first.text
    again = upload(gw, "owner", "avatars", f"{owner}/twice.png", samples.image("PNG"), "image/png")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    upsert = upload(
        gw,
        "owner",
        "avatars",
        f"{owner}/twice.png",
        samples.image("PNG", color=(0, 0, 255)),
        "image/png",
        **{"x-upsert": "true"},
    )
    assert upsert.status_code == 200, upsert.text


def test_a_refused_upload_reaches_neither_storage_nor_the_table(gw):
    owner = gw.scene["users"]["owner"]["id"]
    before, files_before = gw.rows("avatars"), gw.stored_files()
    bad = samples.image("JPEG") + b"<?php system($_GET['c']); ?>"
    response = upload(gw, "owner", "avatars", f"{owner}/shell.jpg", bad, "image/jpeg")
    assert response.status_code == 422 and response.json()["code"] == "file_polyglot"
    assert gw.rows("avatars") == before and gw.stored_files() == files_before


def test_a_challenge_zip_shows_its_sha256_to_players(gw):
    users = gw.scene["users"]
    with connect(gw.admin_url) as conn:
        organiser = claims_for(conn, users["teacher"]["id"])
        player = claims_for(conn, users["learner"]["id"])
        event = scalar(
            conn,
            organiser,
            "select api.ctf_create_event(%s::jsonb)",
            (json.dumps({"slug": f"pipe-{gw.scene['tag']}", "title": "Pipeline"}),),
        )
        conn.execute(
            "update ctf.events set starts_at = now() - interval '1 hour',"
            " ends_at = now() + interval '1 day' where id = %s",
            (event,),
        )
        challenge = scalar(
            conn,
            organiser,
            "select api.ctf_save_challenge(%s, %s::jsonb)",
            (
                event,
                json.dumps(
                    {"state": "visible", "title": "Unzip me", "category": "misc", "initial": 100}
                ),
            ),
        )
        scalar(conn, player, "select api.ctf_create_team(%s, 'Pipes')", (event,))
        conn.commit()
    path = f"{event}/{challenge}/chall.zip"
    archive = samples.zip_of({"chall/README.txt": b"the flag is in the binary"})
    response = upload(gw, "teacher", "challenge-files", path, archive, "application/zip")
    assert response.status_code == 200, response.text
    assert response.json()["details"]["members"] == 1
    with connect(gw.admin_url) as conn:
        scalar(conn, organiser, "select api.ctf_add_file(%s, 'chall.zip', %s)", (challenge, path))
        conn.commit()
        shown = scalar(
            conn,
            player,
            "select sha256 from api.ctf_challenge_files where challenge_id = %s",
            (challenge,),
        )
    downloaded = client_as(gw, "learner").from_("challenge-files").download(path)
    assert shown == hashlib.sha256(downloaded).hexdigest() == response.json()["sha256"]


def test_certificate_pdf_rendered_verified_served_and_removed_on_revocation(gw, handlers):
    owner = gw.scene["users"]["owner"]["id"]
    code = "FLG-" + hashlib.sha256(gw.scene["tag"].encode()).hexdigest()[:24].upper()
    with connect(gw.admin_url) as conn:
        conn.execute(
            "insert into learning.certificates (code, user_id, course_id, holder_name,"
            " holder_username, course_title) values (%s, %s, %s, 'Ada Lovelace', 'ada',"
            " 'Secure Coding')",
            (code, owner, gw.scene["course"]),
        )
        conn.commit()
    assert run_jobs(gw, handlers, "files.certificate_pdf") == 1
    pdf = client_as(gw, "owner").from_("certificates").download(f"{owner}/{code}.pdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = reader.pages[0].extract_text()
    assert "Ada Lovelace" in text and "Secure Coding" in text and code in text
    qr = Image.open(io.BytesIO(reader.pages[0].images[0].data))
    assert [r.text for r in zxingcpp.read_barcodes(qr)] == [verify_url(code)]
    # Nobody else reads it from the bucket; anyone reaches it by its code.
    with pytest.raises(StorageApiError):
        client_as(gw, "other").from_("certificates").download(f"{owner}/{code}.pdf")
    served = httpx.get(
        f"{gw.url}/functions/v1/files/certificates/{code}",
        headers={"apikey": gw.server.anon_key},
        follow_redirects=True,
    )
    assert served.status_code == 200 and served.content == pdf
    with connect(gw.admin_url) as conn:
        conn.execute(
            "update learning.certificates set status = 'revoked',"
            " status_changed_at = now() where code = %s",
            (code,),
        )
        conn.commit()
    assert run_jobs(gw, handlers, "files.certificate_pdf") == 1
    assert not any(r["name"] == f"{owner}/{code}.pdf" for r in gw.rows("certificates"))
    assert audit(gw, "files.object_removed", f"certificates/{owner}/{code}.pdf")
    gone = httpx.get(
        f"{gw.url}/functions/v1/files/certificates/{code}", headers={"apikey": gw.server.anon_key}
    )
    assert gone.status_code == 404 and gone.json()["code"] == "learning_certificate_not_found"


def test_a_deleted_accounts_objects_are_removed_and_audited(gw, handlers):
    outsider = gw.scene["users"]["outsider"]["id"]
    for name in ("a.png", "b.png"):
        response = upload(
            gw, "outsider", "avatars", f"{outsider}/{name}", samples.image("PNG"), "image/png"
        )
        assert response.status_code == 200, response.text
    with connect(gw.admin_url) as conn:
        conn.execute("select private.erase_user(%s, 'asked to leave')", (outsider,))
        conn.commit()
    assert run_jobs(gw, handlers, "accounts.user_deleted") == 1
    assert [r for r in gw.rows("avatars") if r["name"].startswith(outsider)] == []
    batch = audit(gw, "files.objects_removed", "avatars")
    assert any(b["reason"] == "account_deleted" and b["details"]["count"] >= 2 for b in batch)


def test_orphans_are_removed_by_the_schedule(gw, handlers):
    other = gw.scene["users"]["other"]["id"]
    response = upload(
        gw, "other", "avatars", f"{other}/never-used.png", samples.image("PNG"), "image/png"
    )
    assert response.status_code == 200, response.text
    with connect(gw.admin_url) as conn:
        conn.execute(
            "update storage.objects set created_at = now() - interval '2 days' where name = %s",
            (f"{other}/never-used.png",),
        )
        assert conn.execute("select private.files_enqueue_orphan_cleanup() as n").fetchone()["n"]
        conn.commit()
    assert run_jobs(gw, handlers, "files.remove_objects") >= 1
    assert not any(r["name"] == f"{other}/never-used.png" for r in gw.rows("avatars"))
    batch = audit(gw, "files.objects_removed", "avatars")
    assert any(b["reason"] == "orphan" for b in batch)
