"""Safe uploads for every bucket, and certificate PDFs by verification code.

`POST /functions/v1/files/upload/{bucket}/{path}` (raw body, `Content-Type` = the declared
type, optional `x-upsert: true` and `cache-control`):

1. the path is checked (files.paths) and the body streamed to a temporary file, at most the
   bucket's `file_size_limit` (and EDGE_MAX_UPLOAD_BYTES);
2. files.inspect.inspect_upload: magic bytes vs the declared type vs the bucket's allowlist,
   polyglots, image decoding with bomb limits, metadata stripping and re-encoding, SVG, PDF
   and archive checks;
3. a dry run, as the caller, of the storage.objects row Storage will write: the bucket's RLS
   policies decide whether the caller may write there, and the files guard trigger checks the
   path, limit, allowlist and quota (rolled back: nothing is written);
4. the cleaned bytes are stored through `storage3` with the service key (files.store);
5. private.files_record_upload makes the caller the owner (charging the quota, which a
   concurrent upload may have used up: then the object is removed again and 413 answered)
   and records the SHA-256 (files.uploads; challenge files show it to players).

Any refusal answers `{code, message, details, request_id}` with the documented code and
nothing stored. `GET /functions/v1/files/certificates/{code}` (anyone) redirects to a
short-lived signed URL of a valid certificate's PDF.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from edge import dberrors
from edge.auth.deps import AnyCaller, Caller, CurrentCaller, as_caller, as_service
from edge.deps import Db, Settings
from edge.errors import ApiError, ErrorBody
from files.errors import UploadRefused
from files.inspect import Bucket, Inspected, inspect_upload
from files.paths import check_object_path
from files.store import ObjectStore, StorageSettings, StoreError
from flagship.logs import logger

log = logger("edge.files")
router = APIRouter(tags=["files"])
CHUNK = 1024 * 1024
SIGNED_URL_SECONDS = 60
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "file_path_invalid, file_empty",
        401: "not_authenticated",
        403: "forbidden: the bucket's policies do not let you write there",
        404: "not_found: no such bucket",
        409: "conflict: the object exists (send x-upsert: true)",
        413: "file_too_large, file_quota_exceeded",
        415: "file_type_unknown, file_type_mismatch, file_type_not_allowed",
        422: "file_polyglot, file_image_*, file_svg_unsafe, file_pdf_*, file_archive_*",
        503: "storage_unavailable",
    }.items()
}


class Uploaded(BaseModel):
    Key: str
    bucket: str
    path: str
    content_type: str
    size: int
    sha256: str
    original_size: int
    original_sha256: str
    cleaned: bool
    details: dict[str, Any]


def refused(exc: UploadRefused) -> ApiError:
    return ApiError(exc.http_status, exc.code, exc.message, exc.details)


def store_of(request: Request) -> ObjectStore:
    """One storage3 client per app (service key), built on first use."""
    store = getattr(request.app.state, "file_store", None)
    if store is None:
        store = ObjectStore(StorageSettings.from_env())
        request.app.state.file_store = store
    return store


async def _bucket(db, bucket_id: str) -> Bucket:
    async with db.connection() as conn:
        cursor = await conn.execute(
            "select id, public, file_size_limit, allowed_mime_types from storage.buckets"
            " where id = %s",
            (bucket_id,),
        )
        row = await cursor.fetchone()
    if row is None:
        raise ApiError(404, "not_found", f"No bucket {bucket_id!r}.", {"bucket": bucket_id})
    return Bucket.of(row)


async def _spool(request: Request, limit: int, workdir: str) -> Path:
    """The request body in a temporary file, refused as soon as it passes `limit`."""
    fd, name = tempfile.mkstemp(prefix="edge-upload-", dir=workdir)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise UploadRefused(
                        "file_too_large",
                        f"The upload is over the limit of {limit:,} bytes.",
                        details={"limit": limit},
                    )
                out.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


class _DryRun(Exception):
    """Raised inside the dry-run transaction so that it rolls back."""


async def _authorise(
    conn: psycopg.AsyncConnection,
    bucket: str,
    path: str,
    user: str,
    inspected: Inspected,
    upsert: bool,
) -> None:
    """Write the row Storage would write, as the caller, and roll it back."""
    metadata = Jsonb({"size": inspected.size, "mimetype": inspected.content_type})
    try:
        async with conn.transaction():
            cursor = await conn.execute(
                "select 1 from storage.objects where bucket_id = %s and name = %s",
                (bucket, path),
            )
            exists = await cursor.fetchone()
            if exists and not upsert:
                raise ApiError(
                    409,
                    "conflict",
                    "The object exists; send x-upsert: true.",
                    {"bucket": bucket, "path": path},
                )
            # `returning` and a fetch: the write's answer (and any error of its triggers)
            # arrives here, inside the savepoint, also on a pipelined connection.
            if exists:
                cursor = await conn.execute(
                    "update storage.objects set metadata = %s, owner_id = %s"
                    " where bucket_id = %s and name = %s returning 1 as written",
                    (metadata, user, bucket, path),
                )
            else:
                cursor = await conn.execute(
                    "insert into storage.objects (bucket_id, name, owner_id, owner, metadata)"
                    " values (%s, %s, %s, %s, %s) returning 1 as written",
                    (bucket, path, user, user, metadata),
                )
            done = await cursor.fetchone()
            if done is None:
                raise ApiError(403, "forbidden", "You may not replace this object.")
            raise _DryRun
    except _DryRun:
        return
    except psycopg.errors.InsufficientPrivilege as exc:
        if exc.diag.message_hint:
            raise
        raise ApiError(
            403,
            "forbidden",
            "The bucket's policies do not let you write there.",
            {"bucket": bucket, "path": path},
        ) from None


@router.post(
    "/files/upload/{bucket}/{path:path}",
    summary="Upload a file through the safe-upload pipeline",
    description=__doc__.split("\n\n", 2)[1],
    responses=ERRORS,
)
async def upload(
    request: Request,
    bucket: str,
    path: str,
    caller: CurrentCaller,
    db: Db,
    settings: Settings,
    content_type: Annotated[str | None, Header()] = None,
    x_upsert: Annotated[str | None, Header()] = None,
    cache_control: Annotated[str | None, Header(max_length=200)] = None,
) -> Uploaded:
    try:
        check_object_path(path)
        rules = await _bucket(db, bucket)
        limit = min(rules.file_size_limit or settings.max_upload_bytes, settings.max_upload_bytes)
        with tempfile.TemporaryDirectory(prefix="edge-files-") as workdir:
            body = await _spool(request, limit, workdir)
            inspected = await run_in_threadpool(
                inspect_upload, body, content_type, rules, workdir=workdir
            )
            return await _store_inspected(
                request,
                db,
                caller,
                rules,
                path,
                inspected,
                (x_upsert or "").lower() == "true",
                cache_control,
            )
    except UploadRefused as exc:
        log.info("files.upload_refused", bucket=bucket, code=exc.code, user=caller.user_id)
        raise refused(exc) from None


async def _store_inspected(
    request: Request,
    db,
    caller: Caller,
    rules: Bucket,
    path: str,
    inspected: Inspected,
    upsert: bool,
    cache_control: str | None,
) -> Uploaded:
    user = caller.user_id
    async with as_caller(request, caller, db) as conn:
        await _authorise(conn, rules.id, path, user, inspected, upsert)
    store = store_of(request)
    try:
        # storage3's sync client blocks: the thread pool.
        key = await run_in_threadpool(
            store.upload,
            rules.id,
            path,
            inspected.path,
            inspected.content_type,
            upsert=upsert,
            cache_control=cache_control,
        )
    except StoreError as exc:
        if exc.status and 400 <= exc.status < 500:
            raise ApiError(exc.status, "storage_refused", exc.message) from None
        raise ApiError(503, "storage_unavailable", exc.message) from None
    try:
        async with as_service(request, db) as conn:
            await conn.execute(
                "select private.files_record_upload(%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    rules.id,
                    path,
                    user,
                    inspected.sha256,
                    inspected.size,
                    inspected.content_type,
                    inspected.original_sha256,
                    Jsonb(inspected.details),
                ),
            )
    except psycopg.Error as exc:
        # the quota ran out meanwhile: take it back
        await run_in_threadpool(store.remove, rules.id, [path])
        dberrors.raise_mapped(exc)
    log.info("files.uploaded", bucket=rules.id, size=inspected.size, user=user)
    return Uploaded(
        Key=key,
        bucket=rules.id,
        path=path,
        content_type=inspected.content_type,
        size=inspected.size,
        sha256=inspected.sha256,
        original_size=inspected.original_size,
        original_sha256=inspected.original_sha256,
        cleaned=inspected.cleaned,
        details=inspected.details,
    )


@router.get(
    "/files/certificates/{code}",
    summary="The PDF of a valid certificate, by its verification code",
    description="Redirects (302) to a signed URL valid for 60 seconds. Anyone may call it.",
    responses={
        404: {
            "model": ErrorBody,
            "description": "learning_certificate_not_found, file_not_found (not rendered yet)",
        }
    },
    response_class=RedirectResponse,
    status_code=302,
)
async def certificate_pdf(
    request: Request, code: str, caller: AnyCaller, db: Db
) -> RedirectResponse:
    async with as_caller(request, caller, db) as conn:
        cursor = await conn.execute("select api.files_get_certificate_pdf(%s) as w", (code,))
        target = (await cursor.fetchone())["w"]
    try:
        url = await run_in_threadpool(
            store_of(request).signed_url, target["bucket"], target["path"], SIGNED_URL_SECONDS
        )
    except StoreError as exc:
        raise ApiError(503, "storage_unavailable", exc.message) from None
    if url.startswith("/"):
        url = StorageSettings.from_env().url + url
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
