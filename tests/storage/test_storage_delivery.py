"""Delivery for browsers and CDNs: ETag / 304, Range / 206 / 416, Cache-Control per route,
Content-Disposition, and the cache of rendered variants."""

from __future__ import annotations

import httpx
from conftest import jpeg_bytes, png_bytes


def put(gw, who: str, bucket: str, path: str, data: bytes, ctype: str, cache: str = "3600"):
    r = httpx.post(
        f"{gw.storage_url}/object/{bucket}/{path}",
        content=data,
        headers={
            **gw.headers(who),
            "content-type": ctype,
            "cache-control": f"max-age={cache}",
            "x-upsert": "true",
        },
    )
    assert r.status_code == 200, r.text


def info(gw, who: str, bucket: str, path: str) -> dict:
    return httpx.get(
        f"{gw.storage_url}/object/info/{bucket}/{path}", headers=gw.headers(who)
    ).json()


def test_etag_and_conditional_requests(storage_gw):
    gw = storage_gw
    path = f"{gw.scene['users']['owner']['id']}/etag.png"
    put(gw, "owner", "avatars", path, png_bytes(), "image/png")
    url = f"{gw.storage_url}/object/public/avatars/{path}"
    first = httpx.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and len(etag) == 66  # strong: the quoted SHA-256
    again = httpx.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert httpx.get(url, headers={"if-none-match": f"W/{etag}"}).status_code == 304
    assert httpx.get(url, headers={"if-none-match": '"other"'}).status_code == 200
    # A new upload is a new ETag.
    put(gw, "owner", "avatars", path, png_bytes(color=(1, 2, 3)), "image/png")
    assert httpx.get(url, headers={"if-none-match": etag}).status_code == 200


def test_ranges(storage_gw):
    gw = storage_gw
    path = f"{gw.scene['course']}/video/lesson.mp4"
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    data = head + bytes(range(256)) * 40  # a video lesson's container, 10264 bytes
    put(gw, "teacher", "course-content", path, data, "video/mp4")
    url = f"{gw.storage_url}/object/course-content/{path}"
    h = gw.headers("learner")
    r = httpx.get(url, headers={**h, "range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    assert r.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert r.headers["content-length"] == "100" and r.headers["accept-ranges"] == "bytes"
    r = httpx.get(url, headers={**h, "range": "bytes=10000-"})
    assert r.status_code == 206 and r.content == data[10000:]
    assert r.headers["content-type"] == "video/mp4"
    r = httpx.get(url, headers={**h, "range": "bytes=-10"})
    assert r.status_code == 206 and r.content == data[-10:]
    r = httpx.get(url, headers={**h, "range": "bytes=20000-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}"
    assert r.json()["error"] == "invalid_range"
    # If-Range with a stale ETag: the whole object.
    r = httpx.get(url, headers={**h, "range": "bytes=0-9", "if-range": '"stale"'})
    assert r.status_code == 200 and r.content == data


def test_cache_control_by_route_and_download(storage_gw):
    gw = storage_gw
    path = f"{gw.scene['users']['owner']['id']}/cache.png"
    put(gw, "owner", "avatars", path, png_bytes(), "image/png", cache="600")
    version = info(gw, "owner", "avatars", path)["version"]
    public = f"{gw.storage_url}/object/public/avatars/{path}"
    assert httpx.get(public).headers["cache-control"] == "public, max-age=600"
    assert httpx.get(public).headers["cache-tag"] == f"avatars/{path}"
    r = httpx.get(f"{public}?cacheNonce={version}")
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    r = httpx.get(f"{public}?cacheNonce=not-the-version")
    assert r.headers["cache-control"] == "public, max-age=0, must-revalidate"
    authed = httpx.get(f"{gw.storage_url}/object/avatars/{path}", headers=gw.headers("owner"))
    assert authed.headers["cache-control"] == "private, no-store"
    assert authed.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in authed.headers["content-security-policy"]
    r = httpx.get(f"{public}?download=my%20face.png")
    assert r.headers["content-disposition"] == (
        "attachment; filename=my%20face.png; filename*=UTF-8''my%20face.png"
    )
    assert httpx.get(f"{public}?download").headers["content-disposition"] == "attachment;"
    head = httpx.head(public)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(httpx.get(public).content))


def test_rendered_variants_are_cached_per_version(storage_gw):
    gw = storage_gw
    path = f"{gw.scene['users']['owner']['id']}/photo.jpg"
    put(gw, "owner", "avatars", path, jpeg_bytes((800, 600)), "image/jpeg")
    version = info(gw, "owner", "avatars", path)["version"]
    url = f"{gw.storage_url}/render/image/public/avatars/{path}?width=256&format=webp"
    first = httpx.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/webp"
    assert first.headers["x-transformations"] == "width:256,resize:cover"
    variants = list((gw.root / "render" / version).iterdir())
    assert len(variants) == 1
    second = httpx.get(url)
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    assert list((gw.root / "render" / version).iterdir()) == variants
    assert httpx.get(url, headers={"if-none-match": first.headers["etag"]}).status_code == 304
    # Other parameters are another variant; a new upload drops the old version's variants.
    assert httpx.get(url.replace("256", "128")).headers["etag"] != first.headers["etag"]
    put(gw, "owner", "avatars", path, jpeg_bytes((640, 480)), "image/jpeg")
    assert not (gw.root / "render" / version).exists()
    assert httpx.get(url).headers["etag"] != first.headers["etag"]
    # Bad parameters are Storage's 400s.
    bad = httpx.get(url.replace("format=webp", "format=bmp"))
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidParameter"
    bad = httpx.get(url + "&quality=5")
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidParameter"
