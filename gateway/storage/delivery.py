"""Serving bytes for browsers and CDNs: ETag, Cache-Control, Range, Content-Disposition.

- `ETag` is strong: the quoted SHA-256 of the stored bytes (of the rendered bytes' key for a
  transformation); `If-None-Match` with it (or `*`) answers 304 with no body.
- `Cache-Control` by how the object was reached (the policy, in docs/files.md):
  * public route of a public bucket, URL naming the current version (`?cacheNonce=<version>`,
    what `getPublicUrl(path, {cacheNonce: info.version})` builds): `public, max-age=31536000,
    immutable` — the URL changes when the object does;
  * public route, unversioned URL: `public, <the object's cache-control>` (upload's
    `cacheControl`, 3600 s by the clients' default), so a CDN may keep it until purged;
  * public route naming an older version: `public, max-age=0, must-revalidate`;
  * authenticated and signed routes: `private, no-store` (never in a shared cache).
- `Range: bytes=a-b | a- | -n` (one range) answers 206 with `Content-Range`; a range past the
  end 416 with `Content-Range: bytes */size`; `If-Range` is honoured (ETag form).
- `?download` / `?download=name` add Storage's `Content-Disposition: attachment...`.
- Always: `Accept-Ranges: bytes`, `X-Content-Type-Options: nosniff`, Storage's
  `X-Robots-Tag: none`, and a sandboxing `Content-Security-Policy` so no stored file can run
  script on the API's origin.

The body is streamed from the open file in chunks (gateway.storage.store.stream).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from gateway.storage import errors
from gateway.storage.store import stream

IMMUTABLE = "public, max-age=31536000, immutable"
PRIVATE = "private, no-store"
STALE = "public, max-age=0, must-revalidate"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class Asset:
    """What to serve: an open file, its length, type, ETag and dates."""

    fh: Any
    size: int
    content_type: str
    etag: str
    last_modified: Any = None
    extra: Mapping[str, str] | None = None


def cache_control(route: str, object_cache: str | None, nonce: str | None, version: str) -> str:
    """The Cache-Control for an answer reached by `route` (public / authenticated / sign)."""
    if route != "public":
        return PRIVATE
    if nonce:
        return IMMUTABLE if nonce == version else STALE
    value = (object_cache or "max-age=3600").strip()
    return value if value.startswith(("public", "private", "no-")) else f"public, {value}"


def disposition(download: str | None) -> str | None:
    """Storage's Content-Disposition for `?download` (None: inline)."""
    if download is None:
        return None
    if download == "":
        return "attachment;"
    name = quote(download, safe="")
    return f"attachment; filename={name}; filename*=UTF-8''{name}"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, length) of a single byte range, None for the whole; 416 when unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match:
        return None  # multiple or unknown ranges: RFC 9110 lets us send the whole
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        n = int(last)
        if n == 0:
            raise errors.invalid_range(size)
        start = max(0, size - n)
        return start, size - start
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise errors.invalid_range(size)
    return start, end - start + 1


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags


def serve(
    request, asset: Asset, *, cache: str, download: str | None, head: bool = False
) -> Response:
    """The answer for `asset`: 304, 206, 416 or 200, streamed."""
    headers = {
        "ETag": asset.etag,
        "Cache-Control": cache,
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "none",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        **(asset.extra or {}),
    }
    if asset.last_modified is not None:
        headers["Last-Modified"] = format_datetime(asset.last_modified, usegmt=True)
    if (cd := disposition(download)) is not None:
        headers["Content-Disposition"] = cd
    if _matches(request.headers.get("if-none-match"), asset.etag):
        asset.fh.close()
        return Response(status_code=304, headers=headers)
    span = None
    if_range = request.headers.get("if-range")
    if if_range is None or if_range.strip() == asset.etag:
        try:
            span = parse_range(request.headers.get("range"), asset.size)
        except errors.StorageError as exc:
            asset.fh.close()
            return exc.response(
                {"Content-Range": exc.content_range, **headers, "Cache-Control": "no-store"}
            )
    status, start, length = 200, 0, asset.size
    if span is not None:
        status, (start, length) = 206, span
        headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{asset.size}"
    headers["Content-Length"] = str(length)
    if head:
        asset.fh.close()
        return Response(status_code=status, headers=headers, media_type=asset.content_type)
    return StreamingResponse(
        stream(asset.fh, start, length), status, headers=headers, media_type=asset.content_type
    )


def open_asset(path: Path, content_type: str, etag: str, **extra) -> Asset:
    """Open `path` now: the open file keeps serving even if a new version replaces it."""
    fh = open(path, "rb")  # noqa: SIM115 - closed by serve() or the stream
    return Asset(fh, os.fstat(fh.fileno()).st_size, content_type, etag, **extra)
