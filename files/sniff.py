"""Content types from magic bytes, and where each format ends (for polyglot checks).

`sniff(head)` looks only at the first bytes; `format_end(path, type)` walks the structure of
the formats whose end is well defined (PNG, JPEG, GIF, WebP, PDF) and returns the offset just
after their last byte, so data glued after it (a zip, an HTML page, a PHP script) is found.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

HEAD = 8192

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
ARCHIVE_TYPES = frozenset({"application/zip", "application/gzip", "application/x-tar"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/csv", "application/json"})
OCTET = "application/octet-stream"

# Spellings clients send for the same type.
ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "application/x-zip-compressed": "application/zip",
    "application/x-zip": "application/zip",
    "application/x-gzip": "application/gzip",
    "application/tar": "application/x-tar",
    "application/x-pdf": "application/pdf",
    "application/vnd.tcpdump.pcap": "application/vnd.tcpdump.pcap",
    "application/x-executable": "application/x-elf",
    "application/x-sharedlib": "application/x-elf",
}

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"PK\x05\x06", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"ustar", 257, "application/x-tar"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
    (b"\x7fELF", 0, "application/x-elf"),
    (b"MZ", 0, "application/x-msdownload"),
    (b"\xd4\xc3\xb2\xa1", 0, "application/vnd.tcpdump.pcap"),
    (b"\xa1\xb2\xc3\xd4", 0, "application/vnd.tcpdump.pcap"),
    (b"\x4d\x3c\xb2\xa1", 0, "application/vnd.tcpdump.pcap"),
    (b"\x0a\x0d\x0d\x0a", 0, "application/vnd.tcpdump.pcap"),  # pcapng
    (b"\x1aE\xdf\xa3", 0, "video/webm"),
    (b"OggS", 0, "audio/ogg"),
    (b"ID3", 0, "audio/mpeg"),
)

# Types the magic bytes would have shown: declared for bytes of no known format, they lie.
SNIFFABLE = frozenset(
    {kind for _, _, kind in _SIGNATURES}
    | {
        "image/webp",
        "image/avif",
        "image/heic",
        "video/mp4",
        "image/svg+xml",
        "text/html",
        "application/xml",
    }
)

# Markup or script that makes a browser, a PHP interpreter or a shell act on the bytes.
ACTIVE_MARKERS = re.compile(
    rb"<\?php|<\?=|<script|<html|<!doctype\s+html|<body|<iframe|<svg|<\?xml|<%@|"
    rb"javascript:|#!/",
    re.IGNORECASE,
)
# The long markers only, searched inside binary formats (short ones occur by chance in
# compressed pixel data): a PHP or HTML payload in an EXIF comment or a private chunk.
BINARY_MARKERS = re.compile(
    rb"<\?php|<script|<html|<!doctype\s+html|<iframe|javascript:", re.IGNORECASE
)
ARCHIVE_MARKERS = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PK\x01\x02",
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
)


def normalise(content_type: str | None) -> str | None:
    """`Image/JPG; charset=x` -> `image/jpeg`; None stays None."""
    if content_type is None:
        return None
    base = content_type.split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base) or None


def sniff(head: bytes) -> str:
    """The content type the first bytes say, or `application/octet-stream`."""
    for magic, offset, kind in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        return "video/mp4"
    text = _as_text(head)
    if text is not None:
        stripped = text.lstrip("\ufeff \t\r\n")
        lowered = stripped[:512].lower()
        if (
            lowered.startswith("<svg")
            or (lowered.startswith("<?xml") and "<svg" in lowered)
            or (lowered.startswith("<!doctype svg"))
        ):
            return "image/svg+xml"
        if lowered.startswith(("<!doctype html", "<html", "<head", "<body", "<script")):
            return "text/html"
        if lowered.startswith("<?xml"):
            return "application/xml"
        if stripped[:1] in ("{", "["):
            return "application/json"
        return "text/plain"
    return OCTET


def _as_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed window is still text.
        if exc.start >= len(head) - 4:
            return head[: exc.start].decode("utf-8")
        return None


def text_compatible(detected: str, declared: str) -> bool:
    """Plain-text families: text/plain content may be declared as markdown, csv or json."""
    return detected in ("text/plain", "application/json") and declared in TEXT_TYPES


# -- Where a format ends ------------------------------------------------------------------------


def format_end(path: Path, content_type: str) -> int | None:
    """Offset just past the format's last byte, or None where the format has no defined end."""
    data = path.read_bytes() if content_type in IMAGE_TYPES else None
    if content_type == "image/png":
        return _png_end(data)
    if content_type == "image/jpeg":
        return _jpeg_end(data)
    if content_type == "image/gif":
        return _gif_end(data)
    if content_type == "image/webp":
        size = struct.unpack("<I", data[4:8])[0]
        return 8 + size + (size & 1)
    if content_type == "application/pdf":
        return _pdf_end(path)
    return None


def _png_end(data: bytes) -> int | None:
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        pos += 12 + length
        if kind == b"IEND":
            return pos
    return None


def _jpeg_end(data: bytes) -> int | None:
    pos, n = 2, len(data)
    while pos + 2 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        if pos + 4 > n:
            return None
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        pos += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data until the next real marker
            while pos + 1 < n:
                following = data[pos + 1]
                if data[pos] == 0xFF and following != 0x00 and not 0xD0 <= following <= 0xD7:
                    break
                pos += 1
    return None


def _gif_end(data: bytes) -> int | None:
    n = len(data)
    if n < 13:
        return None
    flags = data[10]
    pos = 13 + (3 * (2 ** ((flags & 7) + 1)) if flags & 0x80 else 0)

    def skip_sub_blocks(p: int) -> int:
        while p < n:
            size = data[p]
            p += 1 + size
            if size == 0:
                return p
        return n + 1

    while pos < n:
        block = data[pos]
        if block == 0x3B:
            return pos + 1
        if block == 0x21:  # extension
            pos = skip_sub_blocks(pos + 2)
        elif block == 0x2C:  # image descriptor
            if pos + 10 > n:
                return None
            lflags = data[pos + 9]
            pos += 10 + (3 * (2 ** ((lflags & 7) + 1)) if lflags & 0x80 else 0)
            pos = skip_sub_blocks(pos + 1)  # LZW minimum code size byte, then data
        else:
            return None
    return None


def _pdf_end(path: Path) -> int | None:
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    at = tail.rfind(b"%%EOF")
    if at < 0:
        return None
    end = size - len(tail) + at + 5
    rest = tail[at + 5 :]
    return end + (len(rest) - len(rest.lstrip(b"\r\n \t\x00")))
