"""Supabase Storage's error answers: `{statusCode, code, error, message}`.

As Supabase Storage renders them (src/internal/errors): `statusCode` is the meaning as a
string ("404"), `code` Storage's ErrorCode (`NoSuchKey`, `InvalidJWT` ...), `error` the
legacy label both clients read (storage3 exposes it as `.code`) and `message` the human text.
Like Supabase, the HTTP status is 400 for every refusal and 500 for server faults — the real
meaning is `statusCode` (storage-js `StorageApiError.statusCode`, storage3 `.status`). The
delivery answers that are HTTP protocol (304, 206, 416) are real statuses.

Refusals of the upload checks (`files.errors.UploadRefused`) keep their documented code in
`error` (`file_polyglot`, `file_type_mismatch` ...), with Storage's nearest `code`.
"""

from __future__ import annotations

import json

import psycopg
from starlette.responses import Response

from files.errors import CODES, UploadRefused


class StorageError(Exception):
    """One refusal, rendered as Supabase Storage renders it."""

    def __init__(
        self, status: int, code: str, message: str, error: str | None = None, *, http: int = 0
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error = error or code
        # Storage answers 400 for every renderable refusal, 500 for faults.
        self.http = http or (500 if status >= 500 else 400)

    def body(self) -> dict[str, str]:
        return {
            "statusCode": str(self.status),
            "code": self.code,
            "error": self.error,
            "message": self.message,
        }

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(self.body()),
            self.http,
            headers={"cache-control": "no-store", **(headers or {})},
            media_type="application/json",
        )


def no_such_bucket() -> StorageError:
    return StorageError(404, "NoSuchBucket", "Bucket not found", "Bucket not found")


def no_such_key() -> StorageError:
    return StorageError(404, "NoSuchKey", "Object not found", "not_found")


def invalid_key(key: str) -> StorageError:
    return StorageError(400, "InvalidKey", f"Invalid key: {key[:200]}")


def invalid_bucket_name() -> StorageError:
    return StorageError(400, "InvalidBucketName", "Bucket name invalid", "Invalid Input")


def access_denied(message: str = "Access denied") -> StorageError:
    return StorageError(403, "AccessDenied", message, "Unauthorized")


def rls_denied() -> StorageError:
    return access_denied("new row violates row-level security policy")


def invalid_request(message: str) -> StorageError:
    return StorageError(400, "InvalidRequest", message)


def invalid_parameter(name: str, message: str | None = None) -> StorageError:
    return StorageError(400, "InvalidParameter", message or f"Invalid Parameter {name}")


def invalid_jwt(message: str = "Invalid JWT") -> StorageError:
    return StorageError(400, "InvalidJWT", message)


def invalid_signature(message: str = "Invalid signature") -> StorageError:
    return StorageError(400, "InvalidSignature", message)


def expired_signature() -> StorageError:
    return StorageError(400, "ExpiredToken", "The provided token has expired.")


def entity_too_large(message: str = "The object exceeded the maximum allowed size") -> StorageError:
    return StorageError(413, "EntityTooLarge", message, "Payload too large")


def invalid_mime_type(mime: str) -> StorageError:
    return StorageError(
        415, "InvalidMimeType", f"mime type {mime} is not supported", "invalid_mime_type"
    )


def already_exists() -> StorageError:
    return StorageError(409, "Duplicate", "The resource already exists", "Duplicate")


def key_already_exists() -> StorageError:
    return StorageError(409, "KeyAlreadyExists", "The resource already exists", "Duplicate")


def bucket_not_empty() -> StorageError:
    return StorageError(409, "ResourceNotEmpty", "The bucket you tried to delete is not empty")


def invalid_range(size: int) -> StorageError:
    err = StorageError(416, "InvalidRange", "invalid range provided", "invalid_range", http=416)
    err.content_range = f"bytes */{size}"
    return err


def internal(message: str = "Internal server error") -> StorageError:
    return StorageError(500, "InternalError", message, "Internal")


# Upload-check codes → Storage's nearest ErrorCode (our documented code stays in `error`).
_REFUSAL_CODES = {
    "file_too_large": "EntityTooLarge",
    "file_quota_exceeded": "EntityTooLarge",
    "file_type_unknown": "InvalidMimeType",
    "file_type_mismatch": "InvalidMimeType",
    "file_type_not_allowed": "InvalidMimeType",
    "file_path_invalid": "InvalidKey",
    "file_empty": "InvalidRequest",
}


def from_refusal(exc: UploadRefused) -> StorageError:
    """An upload check's refusal in Storage's shape, its own code in `error`."""
    return StorageError(
        exc.http_status, _REFUSAL_CODES.get(exc.code, "InvalidRequest"), exc.message, exc.code
    )


def from_database(exc: psycopg.Error) -> StorageError:
    """Storage's DBError mapping (src/storage/database/errors.ts) for the states we meet."""
    state = exc.diag.sqlstate
    message = exc.diag.message_primary or str(exc)
    hint = exc.diag.message_hint
    if hint in CODES:  # a storage.objects guard (files-safety) refused with a file_* code
        return from_refusal(UploadRefused(hint, message))
    if state and state.startswith("PT") and state[2:].isdigit() and hint:
        return StorageError(int(state[2:]), "InvalidRequest", message, hint)
    if state == "42501":
        return rls_denied() if "row-level security" in message else access_denied(message)
    if state == "23505":
        return already_exists()
    if state == "23503":
        return StorageError(
            404, "RelatedResourceNotFound", "The related resource does not exist", "Not found"
        )
    if state in ("22P02", "22023", "23514"):
        return invalid_parameter("value", message)
    if state == "57014":
        return StorageError(
            544, "DatabaseTimeout", "The connection to the database timed out", http=544
        )
    if state is None:
        return StorageError(500, "DatabaseError", "Database connection error.", http=503)
    return StorageError(500, "DatabaseError", "Database error", "DatabaseError")
