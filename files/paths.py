"""Object paths: what `storage.objects.name` may be (the same rule as private.files_path_ok)."""

from __future__ import annotations

import re

from files.errors import UploadRefused

MAX_PATH = 1024
_BAD = re.compile(r"[\x00-\x1f\x7f\\]")


def check_object_path(name: str) -> str:
    """Return `name` if it is a safe relative object path, else raise file_path_invalid."""
    problem = None
    if not name or len(name) > MAX_PATH:
        problem = f"must be 1 to {MAX_PATH} characters"
    elif _BAD.search(name):
        problem = "has a control character or a backslash"
    elif name.startswith("/"):
        problem = "is absolute"
    elif any(part in ("", ".", "..") for part in name.split("/")):
        problem = "has an empty, `.` or `..` segment"
    if problem:
        raise UploadRefused(
            "file_path_invalid", f"The object path {problem}.", details={"path": name[:200]}
        )
    return name
