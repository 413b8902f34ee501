"""Receive an upload body into a temporary file, streamed, stopping at the size limit.

Supabase Storage takes two body shapes (src/storage/uploader.ts `fileUploadFromRequest`):

- `multipart/form-data` (what supabase-js sends for a Blob/File and storage3 always sends):
  the file is the part with a filename (storage-js names the field "", storage3 "file"), its
  type the part's Content-Type (or a `contentType` field); `cacheControl` (seconds) and
  `metadata` (JSON) are fields;
- anything else: the body is the file, its type the Content-Type header, `cache-control`
  and `x-metadata` (base64 JSON) headers.

The multipart parser here is incremental: it never holds more than a chunk plus the
boundary in memory, and the bytes over `limit` are refused as soon as they arrive.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.storage import errors

FIELD_LIMIT = 1024 * 1024  # a non-file form field (Storage's MAX_CUSTOM_METADATA_SIZE)
_DISPOSITION = re.compile(r'(\w+)\*?=(?:"((?:[^"\\]|\\.)*)"|([^;]*))')


@dataclass
class Received:
    path: Path
    size: int
    content_type: str
    cache_control: str
    user_metadata: dict[str, Any] | None = None
    fields: dict[str, str] = field(default_factory=dict)


def _cache_control(seconds: str | None) -> str:
    return f"max-age={seconds}" if seconds else "no-cache"


def _metadata(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def receive(request, path: Path, limit: int) -> Received:
    """Write the file of `request` to `path` (refusing past `limit` bytes)."""
    ctype = request.headers.get("content-type", "")
    if ctype.lower().startswith("multipart/form-data"):
        return await _multipart(request, path, limit, ctype)
    size = 0
    with path.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise errors.entity_too_large()
            out.write(chunk)
    raw_md = request.headers.get("x-metadata")
    md = None
    if raw_md:
        try:
            md = _metadata(base64.b64decode(raw_md).decode())
        except ValueError as exc:
            raise errors.invalid_request("Invalid x-metadata header") from exc
    return Received(
        path,
        size,
        ctype or "application/octet-stream",
        request.headers.get("cache-control") or "no-cache",
        md,
    )


def _boundary(ctype: str) -> bytes:
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1")
    raise errors.invalid_request("No content provided")


def _part_headers(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, _, value = line.partition(":")
        if value:
            headers[name.strip().lower()] = value.strip()
    return headers


def _disposition(value: str) -> dict[str, str]:
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3).strip()
        for m in _DISPOSITION.finditer(value)
    }


async def _multipart(request, path: Path, limit: int, ctype: str) -> Received:
    delimiter = b"\r\n--" + _boundary(ctype)
    buf = b"\r\n"  # so the first boundary matches the same pattern as the others
    fields: dict[str, str] = {}
    file_type: str | None = None
    file_size = 0
    found_file = False
    state = "preamble"
    target = None  # the open file while in the file part
    value = bytearray()  # a field's value
    name = ""
    stream = request.stream()
    ended = False
    with path.open("wb") as out:
        while True:
            if state == "preamble":
                i = buf.find(delimiter)
                if i < 0:
                    buf = buf[-len(delimiter) :]
                else:
                    buf = buf[i + len(delimiter) :]
                    state = "after-boundary"
                    continue
            elif state == "after-boundary":
                if len(buf) >= 2:
                    if buf[:2] == b"--":
                        break
                    state = "headers"
                    continue
            elif state == "headers":
                i = buf.find(b"\r\n\r\n")
                if i >= 0:
                    headers = _part_headers(buf[2:i] if buf.startswith(b"\r\n") else buf[:i])
                    buf = buf[i + 4 :]
                    disp = _disposition(headers.get("content-disposition", ""))
                    name = disp.get("name", "")
                    if "filename" in disp and not found_file:
                        found_file = True
                        file_type = headers.get("content-type")
                        target = out
                    else:
                        target = None
                        value = bytearray()
                    state = "body"
                    continue
                if len(buf) > 16 * 1024:
                    raise errors.invalid_request("Malformed multipart body")
            elif state == "body":
                i = buf.find(delimiter)
                keep = len(delimiter) - 1
                data = buf[:i] if i >= 0 else buf[:-keep] if len(buf) > keep else b""
                if target is not None:
                    file_size += len(data)
                    if file_size > limit:
                        raise errors.entity_too_large()
                    target.write(data)
                else:
                    value.extend(data)
                    if len(value) > FIELD_LIMIT:
                        raise errors.entity_too_large("The user_metadata exceeded the limit")
                if i >= 0:
                    if target is None:
                        fields[name] = value.decode("utf-8", "replace")
                    target = None
                    buf = buf[i + len(delimiter) :]
                    state = "after-boundary"
                    continue
                buf = buf[len(data) :]
            if ended:
                raise errors.invalid_request("Malformed multipart body")
            try:
                buf += await stream.__anext__()
            except StopAsyncIteration:
                ended = True
    if not found_file:
        raise errors.invalid_request("No content provided")
    mime = fields.get("contentType") or file_type or "application/octet-stream"
    return Received(
        path,
        file_size,
        mime,
        _cache_control(fields.get("cacheControl")),
        _metadata(fields.get("metadata") or fields.get("userMetadata")),
        fields,
    )
