"""/storage/v1 through the real storage3 client (supabase-py), per role."""

from __future__ import annotations

import httpx
import pytest
from conftest import png_bytes
from storage3.exceptions import StorageApiError

from supabase import ClientOptions, create_client


def client(gw, who: str):
    """A supabase-py client whose requests carry `who`'s token (a user's or a key)."""
    opts = ClientOptions(
        schema="api",
        auto_refresh_token=False,
        persist_session=False,
        headers={"Authorization": f"Bearer {gw.token(who)}"},
    )
    key = gw.server.service_key if who == "service" else gw.server.anon_key
    return create_client(gw.url, key, options=opts)


def test_avatar_upload_list_download_sign_remove(storage_gw):
    gw = storage_gw
    owner = gw.scene["users"]["owner"]["id"]
    me = client(gw, "owner").storage.from_("avatars")
    path = f"{owner}/face.png"
    data = png_bytes()
    up = me.upload(path, data, {"content-type": "image/png", "cache-control": "120"})
    assert up.path == path and up.full_path == f"avatars/{path}"
    listed = me.list(owner)
    assert [f["name"] for f in listed] == ["face.png"]
    assert listed[0]["metadata"]["mimetype"] == "image/png"
    assert listed[0]["metadata"]["cacheControl"] == "max-age=120"
    got = me.download(path)
    assert got[:8] == b"\x89PNG\r\n\x1a\n"
    info = me.info(path)
    assert info["content_type"] == "image/png" and info["size"] == len(got)
    assert me.exists(path) and not me.exists(f"{owner}/nothing.png")
    signed = me.create_signed_url(path, 60)
    fetched = httpx.get(signed["signedURL"])
    assert fetched.status_code == 200 and fetched.content == got
    public = me.get_public_url(path)
    assert httpx.get(public).content == got
    removed = me.remove([path])
    assert [r["name"] for r in removed] == [path]
    assert gw.rows("avatars") == []


def refused(call) -> StorageApiError:
    with pytest.raises(StorageApiError) as info:
        call()
    return info.value


def test_avatar_rules_per_role(storage_gw):
    gw = storage_gw
    owner = gw.scene["users"]["owner"]["id"]
    path = f"{owner}/roles.png"
    client(gw, "owner").storage.from_("avatars").upload(
        path, png_bytes(), {"content-type": "image/png"}
    )
    # Anyone reads avatars (public bucket, public read policy).
    for who in ("anon", "other", "service"):
        assert client(gw, who).storage.from_("avatars").download(path)[:4] == b"\x89PNG"
    # Nobody else writes into the owner's folder.
    other = client(gw, "other").storage.from_("avatars")
    err = refused(
        lambda: other.upload(path, png_bytes(), {"content-type": "image/png", "x-upsert": "true"})
    )
    assert err.status == "403" and err.message == "new row violates row-level security policy"
    err = refused(
        lambda: (
            client(gw, "anon")
            .storage.from_("avatars")
            .upload(f"{owner}/anon.png", png_bytes(), {"content-type": "image/png"})
        )
    )
    assert err.status == "403"
    # The other user's remove matches nothing they may delete: nothing is removed.
    assert other.remove([path]) == []
    # An existing name without upsert is a conflict; with upsert the owner replaces it.
    me = client(gw, "owner").storage.from_("avatars")
    err = refused(lambda: me.upload(path, png_bytes(), {"content-type": "image/png"}))
    assert err.status == "409" and err.code == "Duplicate"
    before = {r["name"]: r["version"] for r in gw.rows("avatars")}[path]
    me.update(path, png_bytes(color=(0, 0, 255)), {"content-type": "image/png"})
    after = {r["name"]: r["version"] for r in gw.rows("avatars")}[path]
    assert after != before and before not in gw.stored_files() and after in gw.stored_files()
    # The service role bypasses RLS, as on Supabase.
    service = client(gw, "service").storage.from_("avatars")
    assert [r["name"] for r in service.remove([path])] == [path]


def test_course_content_per_role(storage_gw):
    gw = storage_gw
    course = gw.scene["course"]
    path = f"{course}/notes.txt"
    teacher = client(gw, "teacher").storage.from_("course-content")
    teacher.upload(path, b"lesson notes\n", {"content-type": "text/plain"})
    assert client(gw, "learner").storage.from_("course-content").download(path) == (
        b"lesson notes\n"
    )
    for who in ("outsider", "anon"):
        bucket = client(gw, who).storage.from_("course-content")
        err = refused(lambda b=bucket: b.download(path))
        assert err.status == "404" and err.code == "not_found"
        assert bucket.list(course) == []
        err = refused(lambda b=bucket: b.create_signed_url(path, 60))
        assert err.status == "404"
    # A learner reads but does not write; a public URL of a private bucket is no URL.
    learner = client(gw, "learner").storage.from_("course-content")
    err = refused(
        lambda: learner.upload(f"{course}/mine.txt", b"x", {"content-type": "text/plain"})
    )
    assert err.status == "403"
    got = httpx.get(learner.get_public_url(path))
    assert got.status_code == 400 and got.json()["statusCode"] == "404"
    assert got.json()["error"] == "Bucket not found"
    # Signed URL from the learner works for anyone holding it, until it expires.
    signed = learner.create_signed_url(path, 60, {"download": "notes.txt"})
    fetched = httpx.get(signed["signedURL"])
    assert fetched.content == b"lesson notes\n"
    assert fetched.headers["content-disposition"].startswith("attachment; filename=notes.txt")
    assert fetched.headers["cache-control"] == "private, no-store"
    many = learner.create_signed_urls([path, f"{course}/missing.txt"], 60)
    assert many[0]["error"] is None and httpx.get(many[0]["signedURL"]).status_code == 200
    assert many[1]["signedURL"] is None and many[1]["error"]


def test_list_prefix_limit_offset_sort_search(storage_gw):
    gw = storage_gw
    course = gw.scene["course"]
    teacher = client(gw, "teacher").storage.from_("course-content")
    for name in ("b.txt", "a.txt", "c.md", "week1/x.txt", "week2/y.txt"):
        teacher.upload(f"{course}/list/{name}", name.encode(), {"content-type": "text/plain"})
    names = [f["name"] for f in teacher.list(f"{course}/list")]
    assert names == ["week1", "week2", "a.txt", "b.txt", "c.md"]  # folders first, as Storage
    folder = teacher.list(f"{course}/list")[0]
    assert folder["id"] is None and folder["metadata"] is None
    page = teacher.list(f"{course}/list", {"limit": 2, "offset": 2})
    assert [f["name"] for f in page] == ["a.txt", "b.txt"]
    desc = teacher.list(f"{course}/list", {"sortBy": {"column": "name", "order": "desc"}})
    assert [f["name"] for f in desc] == ["week2", "week1", "c.md", "b.txt", "a.txt"]
    assert [f["name"] for f in teacher.list(f"{course}/list", {"search": "c"})] == ["c.md"]
    err = refused(lambda: teacher.list(course, {"sortBy": {"column": "owner"}}))
    assert err.status == "400"


def test_move_copy_and_signed_upload(storage_gw):
    gw = storage_gw
    course = gw.scene["course"]
    teacher = client(gw, "teacher").storage.from_("course-content")
    teacher.upload(f"{course}/mv/a.txt", b"alpha", {"content-type": "text/plain"})
    teacher.move(f"{course}/mv/a.txt", f"{course}/mv/b.txt")
    assert teacher.download(f"{course}/mv/b.txt") == b"alpha"
    assert not teacher.exists(f"{course}/mv/a.txt")
    teacher.copy(f"{course}/mv/b.txt", f"{course}/mv/c.txt")
    assert teacher.download(f"{course}/mv/c.txt") == b"alpha"
    # The learner may not move course content (no update policy for them).
    learner = client(gw, "learner").storage.from_("course-content")
    err = refused(lambda: learner.move(f"{course}/mv/b.txt", f"{course}/mv/d.txt"))
    assert err.status in ("403", "404")
    assert teacher.exists(f"{course}/mv/b.txt")
    # A signed upload URL lets someone without a session upload that one path.
    signed = teacher.create_signed_upload_url(f"{course}/mv/handout.txt")
    anon = client(gw, "anon").storage.from_("course-content")
    anon.upload_to_signed_url(
        f"{course}/mv/handout.txt", signed["token"], b"handout", {"content-type": "text/plain"}
    )
    assert teacher.download(f"{course}/mv/handout.txt") == b"handout"
    row = {r["name"]: r for r in gw.rows("course-content")}[f"{course}/mv/handout.txt"]
    assert row["owner_id"] == gw.scene["users"]["teacher"]["id"]
    # ... and only that path: the token is bound to it.
    err = refused(
        lambda: anon.upload_to_signed_url(
            f"{course}/mv/other.txt", signed["token"], b"x", {"content-type": "text/plain"}
        )
    )
    assert err.status == "400" and err.code == "InvalidSignature"
    # The outsider cannot even get a signed upload URL for the course.
    outsider = client(gw, "outsider").storage.from_("course-content")
    err = refused(lambda: outsider.create_signed_upload_url(f"{course}/mv/evil.txt"))
    assert err.status == "403"


def test_bucket_admin_is_the_service_role(storage_gw):
    gw = storage_gw
    tag = gw.scene["tag"]
    service = client(gw, "service").storage
    name = f"scratch-{tag}"
    service.create_bucket(
        name,
        options={"public": False, "file_size_limit": "1MB", "allowed_mime_types": ["text/plain"]},
    )
    got = service.get_bucket(name)
    assert got.file_size_limit == 1024 * 1024 and got.allowed_mime_types == ["text/plain"]
    assert name in [b.id for b in service.list_buckets()]
    service.update_bucket(
        name, {"public": True, "file_size_limit": 2048, "allowed_mime_types": ["text/plain"]}
    )
    assert service.get_bucket(name).public is True
    user = client(gw, "owner").storage
    err = refused(lambda: user.create_bucket(f"mine-{tag}"))
    assert err.status == "403"
    assert name not in [b.id for b in user.list_buckets()]
    err = refused(lambda: user.get_bucket(name))
    assert err.status == "404"
    err = refused(lambda: user.delete_bucket(name))
    assert err.status == "404"
    err = refused(lambda: service.create_bucket(name))
    assert err.status == "409"
    service.from_(name).upload("x.txt", b"x", {"content-type": "text/plain"})
    err = refused(lambda: service.delete_bucket(name))
    assert err.status == "409" and err.code == "ResourceNotEmpty"
    service.empty_bucket(name)
    service.delete_bucket(name)
    assert name not in [b.id for b in service.list_buckets()]


def test_transform_authenticated_public_and_signed(storage_gw):
    gw = storage_gw
    owner = gw.scene["users"]["owner"]["id"]
    me = client(gw, "owner").storage.from_("avatars")
    path = f"{owner}/big.png"
    me.upload(path, png_bytes((400, 300)), {"content-type": "image/png", "x-upsert": "true"})
    small = me.download(path, {"transform": {"width": 100, "height": 100, "resize": "cover"}})
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(small)).size == (100, 100)
    url = me.get_public_url(path, {"transform": {"width": 50, "resize": "contain"}})
    got = httpx.get(url, headers={"accept": "image/webp,*/*"})
    assert got.headers["content-type"] == "image/webp"
    assert Image.open(BytesIO(got.content)).size == (50, 38)
    signed = me.create_signed_url(
        path, 60, {"transform": {"width": 20, "height": 20, "format": "origin"}}
    )
    assert "/render/image/sign/" in signed["signedURL"]
    got = httpx.get(signed["signedURL"])
    assert got.headers["content-type"] == "image/png"
    assert Image.open(BytesIO(got.content)).size == (20, 20)
    # Changing the query of a signed transformation does not change what is rendered.
    got = httpx.get(signed["signedURL"] + "&width=300")
    assert Image.open(BytesIO(got.content)).size == (20, 20)


def test_course_covers_public_read_team_write(storage_gw):
    gw = storage_gw
    course = gw.scene["course"]
    path = f"{course}/cover.png"
    client(gw, "teacher").storage.from_("course-covers").upload(
        path, png_bytes((320, 180)), {"content-type": "image/png"}
    )
    for who in ("anon", "learner", "outsider"):
        bucket = client(gw, who).storage.from_("course-covers")
        assert httpx.get(bucket.get_public_url(path)).status_code == 200
        err = refused(
            lambda b=bucket: b.upload(
                f"{course}/evil.png", png_bytes(), {"content-type": "image/png"}
            )
        )
        assert err.status == "403"
    small = (
        client(gw, "anon")
        .storage.from_("course-covers")
        .get_public_url(path, {"transform": {"width": 160, "height": 90}})
    )
    assert httpx.get(small).status_code == 200


def test_challenge_files_after_the_event_starts(storage_gw):
    import io
    import uuid
    import zipfile

    from flagship.database import connect

    gw = storage_gw
    event = gw.scene["event"]
    path = f"{event}/{uuid.uuid4()}/handout.zip"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "find the flag\n")
    client(gw, "organiser").storage.from_("challenge-files").upload(
        path, archive.getvalue(), {"content-type": "application/zip"}
    )
    player = client(gw, "player").storage.from_("challenge-files")
    outsider = client(gw, "outsider").storage.from_("challenge-files")
    # Before the event starts: a registered player sees nothing either.
    for bucket in (player, outsider):
        err = refused(lambda b=bucket: b.download(path))
        assert err.status == "404"
    with connect(gw.admin_url, autocommit=True) as conn:
        conn.execute(
            "update ctf.events set starts_at = now() - interval '1 minute' where id = %s", (event,)
        )
    assert player.download(path) == archive.getvalue()
    assert refused(lambda: outsider.download(path)).status == "404"
    # Players never write challenge files.
    err = refused(
        lambda: player.upload(
            f"{event}/{uuid.uuid4()}/mine.zip",
            archive.getvalue(),
            {"content-type": "application/zip"},
        )
    )
    assert err.status == "403"
