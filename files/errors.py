"""`UploadRefused`: the one exception of the upload checks, with its documented codes.

Every refusal carries a stable `code` (the same vocabulary as `api.ops_error_codes`: each code
below is registered there too), a human `message` and the HTTP status the edge and the local
Storage answer with. Nothing is written when one is raised.
"""

from __future__ import annotations

from typing import Any

# code -> (HTTP status, meaning). docs/files.md "Safe uploads" lists the same table.
CODES: dict[str, tuple[int, str]] = {
    "file_empty": (400, "The upload has no bytes."),
    "file_path_invalid": (
        400,
        "The object path is empty, too long, absolute or has a `..`, "
        "a backslash, a control character or an empty segment.",
    ),
    "file_too_large": (413, "The upload is larger than the bucket's file size limit."),
    "file_quota_exceeded": (
        413,
        "The upload would take the owner over the storage quota of their plan.",
    ),
    "file_type_unknown": (
        415,
        "The content matches no known file signature and the bucket "
        "does not take arbitrary binary files.",
    ),
    "file_type_mismatch": (415, "The declared content type is not what the bytes are."),
    "file_type_not_allowed": (415, "The bucket's allowlist does not include this type."),
    "file_polyglot": (
        422,
        "The file is also another kind of file (data after the end of "
        "the format, or an embedded archive, page or script).",
    ),
    "file_image_invalid": (422, "The image cannot be decoded."),
    "file_image_too_large": (
        422,
        "The image has more pixels (or frames) than allowed: a "
        "decompression bomb is refused before it is decoded.",
    ),
    "file_svg_unsafe": (
        422,
        "The SVG has scripts, event handlers, external references, "
        "foreignObject, entities or is not well-formed.",
    ),
    "file_pdf_invalid": (422, "The PDF cannot be parsed, or is encrypted."),
    "file_pdf_unsafe": (
        422,
        "The PDF has JavaScript, launch or submit actions, embedded "
        "files, rich media or XFA forms.",
    ),
    "file_archive_invalid": (422, "The archive cannot be read."),
    "file_archive_unsafe_path": (
        422,
        "An archive member's path is absolute, has a drive "
        "letter, a `..` segment or a control character.",
    ),
    "file_archive_link": (422, "An archive member is a symbolic or hard link, or a device."),
    "file_archive_bomb": (
        422,
        "The archive expands too much (ratio, total size, member "
        "count, nesting or overlapping members).",
    ),
}


class UploadRefused(Exception):
    """An upload refused by the checks: `code`, `message`, `http_status`, `details`."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        http_status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        if code not in CODES:
            raise ValueError(f"unknown upload refusal code {code!r}")
        status, meaning = CODES[code]
        self.code = code
        self.message = message or meaning
        self.http_status = http_status or status
        self.details = details
        super().__init__(f"{code}: {self.message}")

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}
