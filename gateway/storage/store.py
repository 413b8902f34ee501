"""The byte store of the embedded default: one immutable file per object version.

Layout under `<state dir>/storage/`:

- `objects/<v[:2]>/<version>`: the bytes of one version of one object. The file name is the
  version (a UUID the gateway generates), never anything a client sends, so no object name
  can reach outside the store (`..`, absolute paths and the like mean nothing here). A file
  is never changed after it is written: an upload writes a new version and the old file is
  removed after the row points at the new one (readers that opened it keep reading it).
- `tmp/`: uploads being received and inspected (same file system, so `os.replace` into
  `objects/` is atomic).
- `render/<version>/<key>`: rendered image variants (gateway.storage.render), removed
  with their version.

Bytes are streamed in chunks both ways; no object is ever held in memory whole.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

CHUNK = 256 * 1024


class ByteStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"
        self.renders = self.root / "render"
        for d in (self.objects, self.tmp, self.renders):
            d.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_version() -> str:
        return str(uuid.uuid4())

    def path_of(self, version: str) -> Path:
        # The version comes from our own rows; check its shape anyway.
        v = str(uuid.UUID(version))
        return self.objects / v[:2] / v

    def render_dir(self, version: str) -> Path:
        return self.renders / str(uuid.UUID(version))

    def temp_file(self) -> Path:
        fd, name = tempfile.mkstemp(prefix="recv-", dir=self.tmp)
        os.close(fd)
        return Path(name)

    def put(self, source: Path, version: str) -> Path:
        """Move a received (inspected) file into place as `version`."""
        target = self.path_of(version)
        target.parent.mkdir(exist_ok=True)
        os.replace(source, target)
        return target

    def link(self, version: str, new_version: str) -> Path:
        """The same bytes under a new version (copy/move): a hard link, else a copy."""
        source, target = self.path_of(version), self.path_of(new_version)
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        return target

    def remove(self, *versions: str | None) -> None:
        """Forget versions (their bytes and rendered variants); missing ones are fine."""
        for version in versions:
            if not version:
                continue
            try:
                self.path_of(version).unlink(missing_ok=True)
                shutil.rmtree(self.render_dir(version), ignore_errors=True)
            except ValueError:
                continue

    def exists(self, version: str) -> bool:
        try:
            return self.path_of(version).is_file()
        except ValueError:
            return False


def _read(fd: int, size: int, offset: int) -> bytes:
    return os.pread(fd, size, offset)


async def stream(fh, start: int, length: int) -> AsyncIterator[bytes]:
    """Stream `length` bytes of the open file `fh` from `start`, CHUNK at a time (one
    positioned read in a worker thread per chunk); closes it."""
    try:
        offset, end = start, start + length
        while offset < end:
            chunk = await anyio.to_thread.run_sync(
                _read, fh.fileno(), min(CHUNK, end - offset), offset
            )
            if not chunk:
                break
            offset += len(chunk)
            yield chunk
    finally:
        fh.close()
