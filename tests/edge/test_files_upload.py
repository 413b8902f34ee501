"""POST /functions/v1/files/upload: every refusal answers its documented code and writes
nothing (no storage.objects row, no Storage call: these are refused before the store)."""

from __future__ import annotations

import json

import pytest
from edge_helpers import PREFIX, assert_error, bearer, make_client, new_user, token_for

from flagship.database import connect
from flagship.testing import samples
from flagship.testing.harness import scalar


@pytest.fixture(scope="module")
def people(admin_url):
    owner = new_user(admin_url)
    teacher = new_user(admin_url, "instructor")
    with connect(admin_url) as conn:
        course = scalar(conn, teacher, "select api.learning_create_course('up-course', 'Uploads')")
        event = scalar(
            conn,
            teacher,
            "select api.ctf_create_event(%s::jsonb)",
            (json.dumps({"slug": "up-ctf", "title": "Up CTF"}),),
        )
        conn.commit()
    return {"owner": owner, "teacher": teacher, "course": course["id"], "event": event}


def objects(admin_url) -> int:
    with connect(admin_url) as conn:
        return conn.execute("select count(*) as n from storage.objects").fetchone()["n"]


def post(client, who, bucket: str, path: str, data: bytes, content_type: str, **headers):
    return client.post(
        f"{PREFIX}/files/upload/{bucket}/{path}",
        content=data,
        headers={**bearer(token_for(who)), "Content-Type": content_type, **headers},
    )


CASES = [
    # (label, bucket, path template, body, declared type, status, code)
    (
        "wrong magic bytes",
        "avatars",
        "{owner}/a.jpg",
        samples.image("PNG"),
        "image/jpeg",
        415,
        "file_type_mismatch",
    ),
    (
        "not on the allowlist",
        "avatars",
        "{owner}/a.pdf",
        samples.pdf(),
        "application/pdf",
        415,
        "file_type_not_allowed",
    ),
    (
        "jpeg + zip polyglot",
        "avatars",
        "{owner}/p.jpg",
        samples.image("JPEG") + samples.zip_of({"x.php": b"<?php ?>"}),
        "image/jpeg",
        422,
        "file_polyglot",
    ),
    (
        "gifar",
        "avatars",
        "{owner}/g.gif",
        samples.image("GIF") + samples.zip_of({"A.class": b"\xca\xfe"}),
        "image/gif",
        422,
        "file_polyglot",
    ),
    (
        "20k x 20k png",
        "avatars",
        "{owner}/bomb.png",
        samples.png_bomb(),
        "image/png",
        422,
        "file_image_too_large",
    ),
    (
        "svg with script",
        "course-content",
        "{course}/x.svg",
        samples.svg("<script>alert(1)</script>"),
        "image/svg+xml",
        422,
        "file_svg_unsafe",
    ),
    (
        "pdf with javascript",
        "course-content",
        "{course}/x.pdf",
        samples.pdf(javascript=True),
        "application/pdf",
        422,
        "file_pdf_unsafe",
    ),
    (
        "zip slip",
        "challenge-files",
        "{event}/c/x.zip",
        samples.zip_of({"../../x": b"x"}),
        "application/zip",
        422,
        "file_archive_unsafe_path",
    ),
    (
        "1 GiB zip bomb",
        "challenge-files",
        "{event}/c/bomb.zip",
        samples.zip_bomb(),
        "application/zip",
        422,
        "file_archive_bomb",
    ),
    (
        "over the bucket limit",
        "avatars",
        "{owner}/big.png",
        samples.image("PNG", size=(1, 1)) + b"\0" * (1 << 20),
        "image/png",
        413,
        "file_too_large",
    ),
    (
        "a .. path",
        "avatars",
        "{owner}/%2E%2E/{teacher}/a.png",
        samples.image("PNG"),
        "image/png",
        400,
        "file_path_invalid",
    ),
    (
        "another user's folder",
        "avatars",
        "{teacher}/mine.png",
        samples.image("PNG"),
        "image/png",
        403,
        "forbidden",
    ),
    (
        "no such bucket",
        "nope",
        "{owner}/a.png",
        samples.image("PNG"),
        "image/png",
        404,
        "not_found",
    ),
    ("empty", "avatars", "{owner}/e.png", b"", "image/png", 400, "file_empty"),
]


@pytest.mark.parametrize(
    ("bucket", "path", "body", "declared", "status", "code"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_refusals(client, admin_url, people, bucket, path, body, declared, status, code):
    who = people["teacher"] if bucket in ("course-content", "challenge-files") else people["owner"]
    path = path.format(
        owner=people["owner"].id,
        teacher=people["teacher"].id,
        course=people["course"],
        event=people["event"],
    )
    before = objects(admin_url)
    response = post(client, who, bucket, path, body, declared)
    assert_error(response, status, code)
    assert objects(admin_url) == before


def test_over_the_users_quota_is_refused_before_anything_is_stored(client, admin_url, people):
    with connect(admin_url) as conn:
        conn.execute("update files.quotas set bytes = 50 where grantee = 'everyone'")
        conn.commit()
    try:
        response = post(
            client,
            people["owner"],
            "avatars",
            f"{people['owner'].id}/q.png",
            samples.image("PNG"),
            "image/png",
        )
        body = assert_error(response, 413, "file_quota_exceeded")
        assert body["details"]["quota"] == 50
    finally:
        with connect(admin_url) as conn:
            conn.execute("update files.quotas set bytes = 104857600 where grantee = 'everyone'")
            conn.commit()
    assert objects(admin_url) == 0


def test_uploads_need_a_signed_in_user(client):
    response = client.post(f"{PREFIX}/files/upload/avatars/x/a.png", content=b"x")
    assert_error(response, 401, "not_authenticated")


def test_the_upload_limit_is_the_routes_own(app_url, people):
    """The edge's 1 MiB body limit does not apply to uploads; EDGE_MAX_UPLOAD_BYTES does."""
    with make_client(app_url, max_upload_bytes=1000) as small:
        response = post(
            small,
            people["owner"],
            "avatars",
            f"{people['owner'].id}/l.png",
            b"\0" * 2000,
            "image/png",
        )
        assert_error(response, 413, "edge_payload_too_large")


def test_certificate_pdf_of_an_unknown_code_is_404(client):
    response = client.get(f"{PREFIX}/files/certificates/FLG-000000000000000000000000")
    assert_error(response, 404, "learning_certificate_not_found")
