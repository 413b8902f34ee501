"""`inspect_upload`: every upload, for every bucket, goes through here before it is stored.

    inspected = inspect_upload(stream_or_path, declared_type, bucket)
    store(inspected.path, inspected.content_type)   # the cleaned bytes
    inspected.discard()                              # remove the temporary copy

Steps, each refusing with `UploadRefused(code, message, http_status)` (codes in
`files.errors.CODES`, documented in docs/files.md):

1. spool the bytes to a temporary file while counting and hashing, stopping at the bucket's
   `file_size_limit` (`file_too_large`; `file_empty` for no bytes);
2. sniff the content type from the magic bytes; an unknown signature is refused unless the
   bucket allows `application/octet-stream` (`file_type_unknown`);
3. the declared type (if any) must be the detected one (`file_type_mismatch`) and the detected
   type must be on the bucket's allowlist (`file_type_not_allowed`; every bucket has one);
4. polyglots are refused: bytes after the end of a PNG/JPEG/GIF/WebP/PDF, an embedded zip,
   RAR or 7z directory, or HTML/PHP/script markers inside a binary format (`file_polyglot`);
5. by type: raster images are decoded under a pixel limit, stripped of metadata and
   re-encoded (`file_image_*`); SVG is refused or re-serialised (`file_svg_unsafe`); PDFs are
   parsed and walked (`file_pdf_*`); zip/tar/gzip archives are inspected (`file_archive_*`).

`sha256` and `size` are those of the bytes to store (after cleaning); `original_sha256` is of
the bytes received.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from files import archives, documents, images
from files.errors import UploadRefused
from files.sniff import (
    ACTIVE_MARKERS,
    ARCHIVE_MARKERS,
    ARCHIVE_TYPES,
    BINARY_MARKERS,
    HEAD,
    IMAGE_TYPES,
    OCTET,
    SNIFFABLE,
    format_end,
    normalise,
    sniff,
    text_compatible,
)

CHUNK = 1024 * 1024
# Formats whose bytes are binary: markup or an archive directory inside them is a payload.
_BINARY_CHECKED = IMAGE_TYPES | {"application/pdf", "image/avif"}
_ALWAYS_REFUSED = {"text/html", "application/x-msdownload"}


@dataclass(frozen=True)
class Bucket:
    """The rules of a bucket as `storage.buckets` holds them."""

    id: str
    file_size_limit: int | None
    allowed_mime_types: Sequence[str] | None
    public: bool = False

    @classmethod
    def of(cls, value: Bucket | Mapping[str, Any]) -> Bucket:
        if isinstance(value, Bucket):
            return value
        return cls(
            id=value["id"],
            file_size_limit=value.get("file_size_limit"),
            allowed_mime_types=value.get("allowed_mime_types"),
            public=bool(value.get("public", False)),
        )

    def allows(self, content_type: str) -> bool:
        """Supabase's matching: exact types and `type/*` wildcards; no list refuses all."""
        for allowed in self.allowed_mime_types or ():
            allowed = allowed.strip().lower()
            if allowed == content_type or (
                allowed.endswith("/*") and content_type.startswith(allowed[:-1])
            ):
                return True
        return False


@dataclass
class Inspected:
    """An accepted upload: what it is, and where the bytes to store are."""

    content_type: str
    size: int
    sha256: str
    path: Path
    original_size: int
    original_sha256: str
    cleaned: bool
    details: dict[str, Any] = field(default_factory=dict)
    _owned: list[Path] = field(default_factory=list, repr=False)

    def read(self) -> bytes:
        return self.path.read_bytes()

    def discard(self) -> None:
        """Remove the temporary files inspection made (never the caller's own file)."""
        for path in self._owned:
            path.unlink(missing_ok=True)
        self._owned.clear()


def _spool(source: Path | str | IO[bytes], limit: int | None, workdir: str | None):
    """Copy to a temporary file, hashing and counting, refusing past the limit."""
    fd, name = tempfile.mkstemp(prefix="upload-", dir=workdir)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    opened = open(source, "rb") if isinstance(source, str | Path) else None  # noqa: SIM115
    stream = opened or source
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if limit is not None and size > limit:
                    raise UploadRefused(
                        "file_too_large",
                        f"The upload is over the bucket's limit of {limit:,} bytes.",
                        details={"limit": limit},
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        if opened:
            opened.close()
    return path, size, digest.hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_polyglot(path: Path, content_type: str, size: int) -> None:
    end = format_end(path, content_type)
    if content_type in IMAGE_TYPES and end is None:
        raise UploadRefused("file_image_invalid", "The image structure is truncated or broken.")
    if end is not None and end < size:
        raise UploadRefused(
            "file_polyglot",
            f"{size - end:,} bytes follow the end of the {content_type} data.",
            details={"format_end": end, "size": size},
        )
    if content_type not in _BINARY_CHECKED:
        return
    # Archive readers look for their directory in the last 64 KiB (zip's end record).
    tail_at = max(0, size - 65_600)
    with path.open("rb") as fh:
        previous = b""
        while chunk := fh.read(CHUNK):
            window = previous + chunk
            hit = BINARY_MARKERS.search(window)
            if hit and content_type != "application/pdf":
                raise UploadRefused(
                    "file_polyglot",
                    f"The {content_type} carries markup or a script "
                    f"({hit.group(0)[:20].decode(errors='replace')!r}).",
                )
            start = fh.tell() - len(window)
            tail = window[max(0, tail_at - start) :] if fh.tell() > tail_at else b""
            if any(m in tail for m in ARCHIVE_MARKERS):
                raise UploadRefused(
                    "file_polyglot", f"The {content_type} has an archive inside it."
                )
            previous = chunk[-16:]


def inspect_upload(
    path_or_stream: Path | str | IO[bytes],
    declared_type: str | None,
    bucket: Bucket | Mapping[str, Any],
    *,
    workdir: str | None = None,
    max_pixels: int = images.MAX_PIXELS,
) -> Inspected:
    """Check and clean one upload for `bucket` (a Bucket or a storage.buckets row)."""
    rules = Bucket.of(bucket)
    spooled, size, digest = _spool(path_or_stream, rules.file_size_limit, workdir)
    owned = [spooled]
    try:
        return _inspect(
            spooled, size, digest, normalise(declared_type), rules, owned, workdir, max_pixels
        )
    except BaseException:
        for path in owned:
            path.unlink(missing_ok=True)
        raise


def _inspect(
    path: Path,
    size: int,
    digest: str,
    declared: str | None,
    rules: Bucket,
    owned: list[Path],
    workdir: str | None,
    max_pixels: int,
) -> Inspected:
    if size == 0:
        raise UploadRefused("file_empty")
    with path.open("rb") as fh:
        head = fh.read(HEAD)
    detected = sniff(head)
    if detected == "text/plain" and declared and text_compatible(detected, declared):
        detected = declared
    if detected == "application/json" and declared in ("text/plain", "text/markdown"):
        detected = declared
    details: dict[str, Any] = {"bucket": rules.id}
    if detected in _ALWAYS_REFUSED:
        raise UploadRefused(
            "file_type_not_allowed",
            f"{detected} is never accepted for upload.",
            details={"detected": detected},
        )
    if detected == OCTET:
        if not rules.allows(OCTET):
            raise UploadRefused("file_type_unknown", details={"declared": declared})
        if declared in SNIFFABLE:
            raise UploadRefused(
                "file_type_mismatch",
                f"Declared as {declared}, but the bytes are not {declared}.",
                details={"declared": declared, "detected": OCTET},
            )
        if declared not in (None, OCTET) and not rules.allows(declared):
            raise UploadRefused("file_type_not_allowed", details={"declared": declared})
        if ACTIVE_MARKERS.match(head.lstrip()):
            raise UploadRefused("file_polyglot", "The file starts with markup or a script.")
        detected = declared or OCTET
    elif declared not in (None, OCTET, detected):
        raise UploadRefused(
            "file_type_mismatch",
            f"Declared as {declared}, but the bytes are {detected}.",
            details={"declared": declared, "detected": detected},
        )
    if not rules.allows(detected):
        raise UploadRefused(
            "file_type_not_allowed",
            f"The {rules.id} bucket does not take {detected}.",
            details={"detected": detected, "allowed": list(rules.allowed_mime_types or [])},
        )
    if detected in IMAGE_TYPES or detected == "application/pdf":
        _check_polyglot(path, detected, size)

    cleaned: bytes | None = None
    if detected in IMAGE_TYPES:
        cleaned = images.clean(path, detected, max_pixels)
    elif detected == "image/svg+xml":
        cleaned = documents.sanitise_svg(path.read_bytes())
    elif detected == "application/pdf":
        details["pages"] = documents.check_pdf(path)
    elif detected in ARCHIVE_TYPES:
        report = archives.inspect_archive(path, detected)
        details.update(members=report.members, expanded=report.expanded)
    elif detected.startswith("text/") or detected == "application/json":
        _check_text(path, detected)

    if cleaned is None:
        return Inspected(detected, size, digest, path, size, digest, False, details, owned)
    fd, name = tempfile.mkstemp(prefix="clean-", dir=workdir)
    with os.fdopen(fd, "wb") as out:
        out.write(cleaned)
    clean_path = Path(name)
    owned.append(clean_path)
    path.unlink(missing_ok=True)
    owned.remove(path)
    return Inspected(
        detected, len(cleaned), _sha256(cleaned), clean_path, size, digest, True, details, owned
    )


def _check_text(path: Path, content_type: str) -> None:
    """Text must be UTF-8 throughout, with no NUL (HTML was refused when sniffed)."""
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if b"\x00" in chunk:
                raise UploadRefused(
                    "file_type_mismatch", f"Declared {content_type}, but the bytes are binary."
                )
    try:
        with path.open("r", encoding="utf-8") as fh:
            shutil.copyfileobj(fh, _Sink())
    except UnicodeDecodeError as exc:
        raise UploadRefused("file_type_mismatch", "The text is not UTF-8.") from exc


class _Sink:
    def write(self, _: str) -> None:
        return None
