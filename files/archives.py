"""Archives (CTF challenge files): zip-slip paths, links and bombs are refused.

Every member is checked by name (no absolute path, drive letter, `..` segment, backslash
trickery or control character), by kind (no symlink, hard link or device) and by size: the
members are decompressed as a stream with a running cap, so a lying header does not help. A
member that is itself an archive is inspected the same way, to `MAX_DEPTH` levels, against
the same total budget.
"""

from __future__ import annotations

import gzip
import io
import itertools
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from files.errors import UploadRefused
from files.sniff import sniff

MAX_TOTAL = 512 * 1024 * 1024  # bytes once everything (nested too) is expanded
MAX_RATIO = 100  # expanded / compressed, per member above RATIO_FLOOR and overall
RATIO_FLOOR = 1024 * 1024
MAX_MEMBERS = 10_000
MAX_DEPTH = 2  # an archive inside an archive inside the upload, no deeper
CHUNK = 64 * 1024

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Budget:
    """What the whole upload may still expand to."""

    remaining: int = MAX_TOTAL
    members: int = 0
    expanded: int = 0

    def spend(self, n: int) -> None:
        self.remaining -= n
        self.expanded += n
        if self.remaining < 0:
            raise UploadRefused(
                "file_archive_bomb",
                f"The archive expands to more than {MAX_TOTAL:,} bytes.",
                details={"max_total": MAX_TOTAL},
            )

    def count(self) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise UploadRefused("file_archive_bomb", f"More than {MAX_MEMBERS} members.")


@dataclass
class ArchiveReport:
    members: int = 0
    expanded: int = 0
    names: list[str] = field(default_factory=list)


def check_member_name(name: str) -> None:
    """Refuse a member path that would land outside the extraction directory."""
    problem = None
    if not name or _CONTROL.search(name):
        problem = "has a control character or is empty"
    elif name.startswith(("/", "\\")) or _DRIVE.match(name):
        problem = "is absolute"
    elif ".." in re.split(r"[\\/]", name):
        problem = "has a `..` segment"
    if problem:
        raise UploadRefused(
            "file_archive_unsafe_path",
            f"The archive member {name!r} {problem}.",
            details={"member": name},
        )


def _drain(stream: IO[bytes], budget: Budget, compressed: int, name: str) -> bytes | None:
    """Read a member to the end under the budget; return its head (to sniff nesting)."""
    head = b""
    total = 0
    while chunk := stream.read(CHUNK):
        if len(head) < 512:
            head += chunk[: 512 - len(head)]
        total += len(chunk)
        budget.spend(len(chunk))
        if total > RATIO_FLOOR and total > MAX_RATIO * max(compressed, 1):
            raise UploadRefused(
                "file_archive_bomb",
                f"The archive member {name!r} expands more than {MAX_RATIO}x.",
                details={"member": name, "max_ratio": MAX_RATIO},
            )
    return head


def _nested(read_member, head: bytes, budget: Budget, depth: int, name: str) -> None:
    kind = sniff(head)
    if kind not in ("application/zip", "application/gzip", "application/x-tar"):
        return
    if depth >= MAX_DEPTH:
        raise UploadRefused(
            "file_archive_bomb",
            f"The archive member {name!r} nests archives more than {MAX_DEPTH} deep.",
            details={"member": name, "max_depth": MAX_DEPTH},
        )
    # Spooled to disk past 8 MB; bounded, since _drain already counted these bytes.
    with read_member() as inner, tempfile.SpooledTemporaryFile(8 * 1024 * 1024) as copy:
        shutil.copyfileobj(inner, copy, CHUNK)
        inspect_archive(copy, kind, budget, depth + 1)


def _zip(source, budget: Budget, depth: int, report: ArchiveReport) -> None:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadRefused("file_archive_invalid", f"The zip cannot be read: {exc}") from exc
    with archive:
        infos = archive.infolist()
        # Overlapping members (one compressed stream referenced many times) are a bomb.
        spans = sorted((i.header_offset, i.compress_size, i.filename) for i in infos)
        for (offset, size, name), (nxt, _, _) in itertools.pairwise(spans):
            if offset + size > nxt or offset == nxt:
                raise UploadRefused(
                    "file_archive_bomb",
                    f"The archive member {name!r} overlaps another.",
                    details={"member": name},
                )
        for info in infos:
            budget.count()
            check_member_name(info.filename)
            mode = info.external_attr >> 16
            if info.create_system == 3 and (
                stat.S_ISLNK(mode)
                or stat.S_ISCHR(mode)
                or stat.S_ISBLK(mode)
                or stat.S_ISFIFO(mode)
            ):
                raise UploadRefused(
                    "file_archive_link",
                    f"The archive member {info.filename!r} is a link or a device.",
                    details={"member": info.filename},
                )
            if info.flag_bits & 0x1:
                raise UploadRefused(
                    "file_archive_invalid", f"The archive member {info.filename!r} is encrypted."
                )
            if info.is_dir():
                continue
            report.names.append(info.filename)
            try:
                with archive.open(info) as member:
                    head = _drain(member, budget, info.compress_size, info.filename)
                _nested(lambda info=info: archive.open(info), head, budget, depth, info.filename)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
                raise UploadRefused(
                    "file_archive_invalid",
                    f"The archive member {info.filename!r} cannot be read: {exc}",
                ) from exc


def _tar(source, budget: Budget, depth: int, report: ArchiveReport, compressed: int) -> None:
    try:
        archive = tarfile.open(fileobj=source, mode="r:*")  # noqa: SIM115 (closed below)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise UploadRefused("file_archive_invalid", f"The tar cannot be read: {exc}") from exc
    with archive:
        try:
            for member in archive:
                budget.count()
                check_member_name(member.name)
                if member.issym() or member.islnk() or member.isdev() or member.isfifo():
                    raise UploadRefused(
                        "file_archive_link",
                        f"The archive member {member.name!r} is a link or a device.",
                        details={"member": member.name},
                    )
                if not member.isfile():
                    continue
                report.names.append(member.name)
                stream = archive.extractfile(member)
                head = _drain(stream, budget, compressed, member.name)
                _nested(lambda m=member: archive.extractfile(m), head, budget, depth, member.name)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise UploadRefused("file_archive_invalid", f"The tar cannot be read: {exc}") from exc


def _gzip(source, budget: Budget, depth: int, report: ArchiveReport, compressed: int) -> None:
    """A .gz: a tarball, or one compressed file (inspected for nesting)."""
    try:
        with gzip.GzipFile(fileobj=source) as stream:
            head = stream.read(512)
    except (OSError, EOFError, zlib.error) as exc:
        raise UploadRefused("file_archive_invalid", f"The gzip cannot be read: {exc}") from exc
    source.seek(0)
    if head[257:262] == b"ustar":
        _tar(source, budget, depth, report, compressed)
        return
    try:
        with gzip.GzipFile(fileobj=source) as stream:
            _drain(stream, budget, compressed, "(gzip content)")
        source.seek(0)
        _nested(
            lambda: gzip.GzipFile(fileobj=_rewound(source)), head, budget, depth, "(gzip content)"
        )
    except (OSError, EOFError, zlib.error) as exc:
        raise UploadRefused("file_archive_invalid", f"The gzip cannot be read: {exc}") from exc


def _rewound(source):
    source.seek(0)
    return source


def inspect_archive(
    source: Path | IO[bytes], kind: str, budget: Budget | None = None, depth: int = 0
) -> ArchiveReport:
    """Inspect a zip, tar or gzip (path or seekable stream); raise UploadRefused if unsafe."""
    budget = budget or Budget()
    report = ArchiveReport()
    opened = source.open("rb") if isinstance(source, Path) else None
    stream = opened or source
    try:
        stream.seek(0, io.SEEK_END)
        compressed = stream.tell()
        stream.seek(0)
        if kind == "application/zip":
            _zip(stream, budget, depth, report)
        elif kind == "application/x-tar":
            _tar(stream, budget, depth, report, compressed)
        elif kind == "application/gzip":
            _gzip(stream, budget, depth, report, compressed)
        else:
            raise UploadRefused("file_archive_invalid", f"{kind} archives are not inspected.")
    finally:
        if opened:
            opened.close()
    if (
        compressed
        and budget.expanded > RATIO_FLOOR
        and budget.expanded > MAX_RATIO * compressed
        and depth == 0
    ):
        raise UploadRefused(
            "file_archive_bomb", f"The archive expands more than {MAX_RATIO}x overall."
        )
    report.members = budget.members
    report.expanded = budget.expanded
    return report
