"""Attacks on /storage/v1: each refused with its documented code, and nothing written
(no version file in the byte directory, no temporary file left, no storage.objects row)."""

from __future__ import annotations

import base64
import json
import time
from contextlib import contextmanager

import httpx
import jwt
import pytest
from conftest import png_bytes


@contextmanager
def nothing_written(gw, bucket: str):
    before = (gw.stored_files(), gw.rows(bucket))
    yield
    assert (gw.stored_files(), gw.rows(bucket)) == before
    assert gw.temp_files() == []


def storage(gw, who: str) -> httpx.Client:
    return httpx.Client(base_url=gw.storage_url, headers=gw.headers(who), timeout=30)


def refusal(response: httpx.Response, status: str, error: str | None = None) -> dict:
    body = response.json()
    assert response.status_code == (500 if status.startswith("5") else 400), body
    assert body["statusCode"] == status, body
    if error is not None:
        assert body["error"] == error, body
    assert body["message"]
    return body


@pytest.mark.parametrize(
    "path",
    [
        "{me}/../{other}/x.png",
        "{me}/%2e%2e/{other}/x.png",
        "{me}/./x.png",
        "{me}//x.png",
        "{me}/a%5Cb.png",
        "{me}/a%00b.png",
    ],
)
def test_dot_dot_and_bad_paths_are_refused(storage_gw, path):
    gw = storage_gw
    users = gw.scene["users"]
    raw = path.format(me=users["owner"]["id"], other=users["other"]["id"])
    with nothing_written(gw, "avatars"), storage(gw, "owner") as c:
        # The request target exactly as written: clients normalise `..` away, attackers not.
        target = f"/storage/v1/object/avatars/{raw}".encode()
        r = c.post(
            "/object/avatars/x",
            content=png_bytes(),
            headers={"content-type": "image/png"},
            extensions={"target": target},
        )
        body = refusal(r, "400")
        assert body["code"] == "InvalidKey" and body["error"] == "file_path_invalid"


def test_storage3_refuses_dot_segments_before_sending(storage_gw):
    from test_storage_py import client

    me = client(storage_gw, "owner").storage.from_("avatars")
    with pytest.raises(ValueError):
        me.upload(f"{storage_gw.scene['users']['owner']['id']}/../x.png", png_bytes())


def _signed(gw, who: str, bucket: str, path: str, expires: int = 60) -> str:
    with storage(gw, who) as c:
        r = c.post(f"/object/sign/{bucket}/{path}", json={"expiresIn": expires})
        assert r.status_code == 200, r.text
        return r.json()["signedURL"]


def _upload(gw, who: str, bucket: str, path: str, data: bytes, ctype: str):
    with storage(gw, who) as c:
        r = c.post(f"/object/{bucket}/{path}", content=data, headers={"content-type": ctype})
        assert r.status_code == 200, r.text


def test_expired_signed_url(storage_gw):
    gw = storage_gw
    path = f"{gw.scene['course']}/abuse/expiring.txt"
    _upload(gw, "teacher", "course-content", path, b"soon gone", "text/plain")
    url = _signed(gw, "learner", "course-content", path, expires=5)
    assert httpx.get(f"{gw.storage_url}{url}").status_code == 200
    time.sleep(max(0.0, _payload(url.split("token=")[1])["exp"] - time.time()) + 1.1)
    refusal(httpx.get(f"{gw.storage_url}{url}"), "400", "ExpiredToken")


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _with_payload(token: str, payload: dict) -> str:
    head, _, sig = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{sig}"


def test_tampered_signed_urls(storage_gw):
    gw = storage_gw
    course = gw.scene["course"]
    _upload(gw, "teacher", "course-content", f"{course}/abuse/a.txt", b"a", "text/plain")
    _upload(gw, "teacher", "course-content", f"{course}/abuse/secret.txt", b"s", "text/plain")
    url = _signed(gw, "learner", "course-content", f"{course}/abuse/a.txt")
    token = url.split("token=")[1]
    base = f"{gw.storage_url}/object/sign/course-content"
    # The same token for another path: bound to its path.
    refusal(httpx.get(f"{base}/{course}/abuse/secret.txt?token={token}"), "400", "InvalidSignature")
    # The payload changed to name the other path (or a later expiry): the signature fails.
    for change in (
        {"url": f"course-content/{course}/abuse/secret.txt"},
        {"exp": int(time.time()) + 10**6},
    ):
        forged = _with_payload(token, {**_payload(token), **change})
        target = change.get("url", f"course-content/{course}/abuse/a.txt").split("/", 1)[1]
        refusal(httpx.get(f"{base}/{target}?token={forged}"), "400", "InvalidJWT")
    # Signed with another secret, or with alg none.
    other = jwt.encode({**_payload(token)}, "not-the-project-secret", algorithm="HS256")
    refusal(httpx.get(f"{base}/{course}/abuse/a.txt?token={other}"), "400", "InvalidJWT")
    none = jwt.encode({**_payload(token)}, None, algorithm="none")
    refusal(httpx.get(f"{base}/{course}/abuse/a.txt?token={none}"), "400", "InvalidJWT")
    # A download token does not upload, an upload token does not download.
    with nothing_written(gw, "course-content"):
        r = httpx.put(
            f"{gw.storage_url}/object/upload/sign/course-content/{course}/abuse/a.txt"
            f"?token={token}",
            content=b"overwrite",
            headers={"content-type": "text/plain"},
        )
        refusal(r, "400", "InvalidSignature")
    with storage(gw, "teacher") as c:
        up = c.post(f"/object/upload/sign/course-content/{course}/abuse/new.txt").json()
    refusal(
        httpx.get(f"{base}/{course}/abuse/new.txt?token={up['token']}"), "400", "InvalidSignature"
    )
    # No token at all.
    refusal(httpx.get(f"{base}/{course}/abuse/a.txt"), "400")


def test_other_users_private_object(storage_gw):
    gw = storage_gw
    course = gw.scene["course"]
    path = f"{course}/abuse/private.txt"
    _upload(gw, "teacher", "course-content", path, b"for learners", "text/plain")
    for who in ("outsider", "other", "anon"):
        with storage(gw, who) as c:
            refusal(c.get(f"/object/course-content/{path}"), "404", "not_found")
            refusal(c.get(f"/object/authenticated/course-content/{path}"), "404")
            refusal(c.get(f"/object/info/course-content/{path}"), "404")
            refusal(c.post(f"/object/sign/course-content/{path}", json={"expiresIn": 60}), "404")
            assert (
                c.post("/object/list/course-content", json={"prefix": f"{course}/abuse"}).json()
                == []
            )
            with nothing_written(gw, "course-content"):
                assert (
                    c.request("DELETE", "/object/course-content", json={"prefixes": [path]}).json()
                    == []
                )
                refusal(c.delete(f"/object/course-content/{path}"), "404")
                r = c.post(
                    "/object/move",
                    json={
                        "bucketId": "course-content",
                        "sourceKey": path,
                        "destinationKey": f"{course}/abuse/mine.txt",
                    },
                )
                refusal(r, "404")
            refusal(
                httpx.get(f"{gw.storage_url}/object/public/course-content/{path}"),
                "404",
                "Bucket not found",
            )


def test_over_the_bucket_size_limit(storage_gw):
    gw = storage_gw
    me = gw.scene["users"]["owner"]["id"]
    big = png_bytes((900, 900)) + b"\0" * (1024 * 1024)  # over avatars' 1 MiB
    with nothing_written(gw, "avatars"), storage(gw, "owner") as c:
        # Raw body: refused from Content-Length before a byte is read.
        r = c.post(
            f"/object/avatars/{me}/big.png", content=big, headers={"content-type": "image/png"}
        )
        refusal(r, "413", "Payload too large")
        # Multipart (as both clients send files): refused while streaming.
        r = c.post(
            f"/object/avatars/{me}/big.png",
            files={"file": ("big.png", big + b"\0" * 2 * 1024 * 1024, "image/png")},
        )
        refusal(r, "413")

        # Chunked, no Content-Length at all: refused once the limit is passed.
        def chunks():
            for i in range(0, len(big), 65536):
                yield big[i : i + 65536]

        r = c.post(
            f"/object/avatars/{me}/big.png", content=chunks(), headers={"content-type": "image/png"}
        )
        refusal(r, "413")


def test_wrong_type_for_the_bucket(storage_gw):
    gw = storage_gw
    me = gw.scene["users"]["owner"]["id"]
    with nothing_written(gw, "avatars"), storage(gw, "owner") as c:
        # Declared type not on the allowlist: Storage's InvalidMimeType.
        r = c.post(
            f"/object/avatars/{me}/a.txt", content=b"hello", headers={"content-type": "text/plain"}
        )
        assert refusal(r, "415", "invalid_mime_type")["code"] == "InvalidMimeType"
        # Declared image/png, bytes are HTML: the sniffing check (files.inspect).
        r = c.post(
            f"/object/avatars/{me}/a.png",
            content=b"<html><script>x</script></html>",
            headers={"content-type": "image/png"},
        )
        refusal(r, "415")
        # A PNG with a zip appended (a polyglot).
        zipped = png_bytes() + b"PK\x03\x04" + b"\0" * 26 + b"PK\x05\x06" + b"\0" * 18
        r = c.post(
            f"/object/avatars/{me}/poly.png", content=zipped, headers={"content-type": "image/png"}
        )
        refusal(r, "422", "file_polyglot")


def test_authenticated_routes_need_a_valid_jwt(storage_gw):
    gw = storage_gw
    me = gw.scene["users"]["owner"]["id"]
    with nothing_written(gw, "avatars"):
        r = httpx.post(
            f"{gw.storage_url}/object/avatars/{me}/x.png",
            content=png_bytes(),
            headers={"content-type": "image/png"},
        )
        refusal(r, "403", "Unauthorized")
        forged = jwt.encode({"sub": me, "role": "authenticated"}, "wrong", algorithm="HS256")
        r = httpx.post(
            f"{gw.storage_url}/object/avatars/{me}/x.png",
            content=png_bytes(),
            headers={"content-type": "image/png", "authorization": f"Bearer {forged}"},
        )
        refusal(r, "403", "Unauthorized")


def test_unknown_routes_answer_in_storages_shape(storage_gw):
    r = httpx.get(f"{storage_gw.storage_url}/nothing/here")
    assert r.json()["statusCode"] == "404" and r.json()["error"] == "Not Found"


def test_expired_signed_upload_url_writes_nothing(storage_gw):
    from flagship import config

    gw = storage_gw
    path = f"{gw.scene['course']}/abuse/late.txt"
    claims = {
        "owner": gw.scene["users"]["teacher"]["id"],
        "url": f"course-content/{path}",
        "upsert": False,
        "scope": "upload",
        "iat": int(time.time()) - 7300,
        "exp": int(time.time()) - 100,
    }
    token = jwt.encode(claims, config.Settings.from_env().jwt_secret, algorithm="HS256")
    with nothing_written(gw, "course-content"):
        r = httpx.put(
            f"{gw.storage_url}/object/upload/sign/course-content/{path}?token={token}",
            content=b"too late",
            headers={"content-type": "text/plain"},
        )
        refusal(r, "400", "ExpiredToken")


def test_parallel_uploads_of_one_path_make_one_object(storage_gw):
    """Eight clients race to create the same path without upsert: one wins, the others get
    Duplicate, and exactly one version file is left."""
    from concurrent.futures import ThreadPoolExecutor

    gw = storage_gw
    path = f"{gw.scene['users']['owner']['id']}/race.png"
    before = gw.stored_files()

    def upload(i: int) -> httpx.Response:
        with storage(gw, "owner") as c:
            return c.post(
                f"/object/avatars/{path}",
                content=png_bytes(color=(i, 0, 0)),
                headers={"content-type": "image/png"},
            )

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(upload, range(8)))
    assert sorted(r.status_code for r in answers) == [200] + [400] * 7
    assert {r.json()["statusCode"] for r in answers if r.status_code == 400} == {"409"}
    rows = [r for r in gw.rows("avatars") if r["name"] == path]
    assert len(rows) == 1
    assert gw.stored_files() - before == {rows[0]["version"]}
    assert gw.temp_files() == []


def test_parallel_upserts_of_a_new_path_leave_one_version(storage_gw):
    """Racing upserts of a path that does not exist yet: one row, and only its version's
    bytes are left (each replaced version is removed)."""
    from concurrent.futures import ThreadPoolExecutor

    gw = storage_gw
    path = f"{gw.scene['users']['owner']['id']}/upsert-race.png"
    before = gw.stored_files()

    def upload(i: int) -> httpx.Response:
        with storage(gw, "owner") as c:
            return c.post(
                f"/object/avatars/{path}",
                content=png_bytes(color=(0, i, 0)),
                headers={"content-type": "image/png", "x-upsert": "true"},
            )

    with ThreadPoolExecutor(6) as pool:
        assert [r.status_code for r in pool.map(upload, range(6))] == [200] * 6
    rows = [r for r in gw.rows("avatars") if r["name"] == path]
    assert len(rows) == 1
    assert gw.stored_files() - before == {rows[0]["version"]}
