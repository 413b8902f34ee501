"""/storage/v1: Supabase Storage's HTTP API over `storage.*` and the local byte store.

Routes are Storage's (src/http/routes), with its answers; see docs/files.md for the list,
the delivery headers and every divergence. The object operations run as the caller under
RLS (gateway.storage.db); uploads stream to a temporary file, go through files-safety's
`files.inspect.inspect_upload` and only then become a version of an object.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from email.utils import formatdate
from functools import wraps
from pathlib import Path
from typing import Any

import anyio
import psycopg
from psycopg import sql
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from edge.client import client_ip_of
from edge.observability import logger
from files.errors import UploadRefused
from files.inspect import inspect_upload
from files.paths import check_object_path
from gateway.rest.errors import PgrstError
from gateway.storage import delivery, errors, signing
from gateway.storage.db import SERVICE, StorageDb, dumps, object_json
from gateway.storage.receive import FIELD_LIMIT, receive
from gateway.storage.render import Params, Renderer, params_from, params_from_token
from gateway.storage.store import ByteStore

log = logger("gateway.storage")
DEFAULT_LIMIT = 50 * 1024 * 1024  # [storage] file_size_limit of config.toml
MAX_LIST = 1000
MAX_REMOVE = 1000
SECRET_HEADERS = frozenset({"authorization", "apikey", "cookie"})
# Storage's limits.ts: S3-safe key characters and bucket names.
_VALID_KEY = re.compile(r"^[A-Za-z0-9_/!.*'() &$=@;:+,?-]*$")
_VALID_BUCKET = re.compile(r"^[A-Za-z0-9_!.*'() &$=@;:+,?-]{1,100}$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?$", re.IGNORECASE)
_MIME = re.compile(r"^[\w.+-]+/([\w.+-]+|\*)$")
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1024,
    "kib": 1024,
    "mb": 1024**2,
    "mib": 1024**2,
    "gb": 1024**3,
    "gib": 1024**3,
}


_OBJ = "{bucket}/{name:path}"
# (path, methods, StorageService method, summary): the route table, in Storage's matching
# order, and what the generated API reference (flagship.reference) says about each route.
ROUTES: list[tuple[str, tuple[str, ...], str, str]] = [
    ("/bucket", ("GET",), "list_buckets", "List the buckets you may see"),
    ("/bucket", ("POST",), "create_bucket", "Create a bucket (service role)"),
    ("/bucket/{bucket}", ("GET",), "get_bucket", "One bucket"),
    ("/bucket/{bucket}", ("PUT",), "update_bucket", "Update a bucket's settings"),
    ("/bucket/{bucket}", ("DELETE",), "delete_bucket", "Delete an empty bucket"),
    ("/bucket/{bucket}/empty", ("POST",), "empty_bucket", "Delete every object of a bucket"),
    ("/object/list/{bucket}", ("POST",), "list_objects", "List objects under a prefix"),
    ("/object/move", ("POST",), "move", "Move (rename) an object"),
    ("/object/copy", ("POST",), "copy", "Copy an object"),
    ("/object/sign/{bucket}", ("POST",), "sign_many", "Signed download URLs for several objects"),
    (f"/object/sign/{_OBJ}", ("POST",), "sign_one", "A signed download URL for an object"),
    (f"/object/sign/{_OBJ}", ("GET", "HEAD"), "get_signed", "Download with a signed URL"),
    (f"/object/upload/sign/{_OBJ}", ("POST",), "sign_upload", "A signed upload URL"),
    (f"/object/upload/sign/{_OBJ}", ("PUT",), "upload_signed", "Upload with a signed URL"),
    (f"/object/info/public/{_OBJ}", ("GET",), "info_public", "Object metadata, public bucket"),
    (f"/object/info/authenticated/{_OBJ}", ("GET",), "info", "Object metadata"),
    (f"/object/info/{_OBJ}", ("GET",), "info", "Object metadata"),
    (f"/object/public/{_OBJ}", ("GET", "HEAD"), "get_public", "Download from a public bucket"),
    (f"/object/authenticated/{_OBJ}", ("GET", "HEAD"), "get_object", "Download as the caller"),
    ("/object/{bucket}", ("DELETE",), "remove_many", "Delete several objects"),
    (f"/object/{_OBJ}", ("GET", "HEAD"), "get_object", "Download as the caller"),
    (f"/object/{_OBJ}", ("POST",), "upload", "Upload an object"),
    (f"/object/{_OBJ}", ("PUT",), "update", "Replace an object"),
    (f"/object/{_OBJ}", ("DELETE",), "remove_one", "Delete an object"),
    (f"/render/image/authenticated/{_OBJ}", ("GET",), "render_authenticated", "Image, transformed"),
    (f"/render/image/public/{_OBJ}", ("GET",), "render_public", "A transformed public image"),
    (f"/render/image/sign/{_OBJ}", ("GET",), "render_signed", "A transformed image, signed URL"),
]

# Query parameters the handlers read, per StorageService method (documented in the
# generated reference): signed URLs carry their token, image routes the transformation.
_TRANSFORM = ("width", "height", "resize", "quality", "format")
_DELIVERY = ("download", "cacheNonce")
QUERY: dict[str, tuple[str, ...]] = {
    "list_buckets": ("limit", "offset", "search", "sortColumn", "sortOrder"),
    "get_signed": ("token", *_DELIVERY),
    "upload_signed": ("token",),
    "get_public": _DELIVERY,
    "get_object": _DELIVERY,
    "render_authenticated": (*_TRANSFORM, *_DELIVERY),
    "render_public": (*_TRANSFORM, *_DELIVERY),
    "render_signed": ("token", *_DELIVERY),
}


def parse_size(value: Any) -> int | None:
    """A size as config.toml and Storage take it: bytes, or "20MB" / "50MiB" (1024-based)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    match = _SIZE.match(str(value).strip())
    if not match:
        raise errors.StorageError(
            400, "InvalidRequest", "Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B"
        )
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


def valid_key(name: str) -> str:
    """Storage's mustBeValidKey, plus the byte store's path rule (no `..`, no empty parts)."""
    try:
        check_object_path(name)
    except UploadRefused as exc:
        raise errors.from_refusal(exc) from exc
    if not _VALID_KEY.match(name):
        raise errors.invalid_key(name)
    return name


def valid_bucket(bucket_id: str) -> str:
    if not bucket_id or not _VALID_BUCKET.match(bucket_id):
        raise errors.invalid_bucket_name()
    return bucket_id


def check_mime(mime: str, allowed: list[str] | None) -> None:
    """Storage's validateMimeType against the bucket's allowed_mime_types (no list: any)."""
    if not allowed:
        return
    kind, _, sub = mime.split(";")[0].strip().lower().partition("/")
    if not sub:
        raise errors.invalid_mime_type(mime)
    for entry in allowed:
        a_kind, _, a_sub = entry.strip().lower().partition("/")
        if a_kind == kind and a_sub in ("*", sub):
            return
    raise errors.invalid_mime_type(mime)


def _json(value: Any, status: int = 200) -> Response:
    return Response(
        dumps(value), status, media_type="application/json", headers={"cache-control": "no-store"}
    )


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise errors.invalid_request("Body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise errors.invalid_request("body must be object")
    return value


def _owner(claims: dict[str, Any]) -> str | None:
    sub = claims.get("sub")
    try:
        return str(uuid.UUID(str(sub))) if sub else None
    except ValueError:
        return None


def handles(fn: Callable) -> Callable:
    """Every route: Storage's error shape for refusals, 500 InternalError for faults."""

    @wraps(fn)
    async def route(self, request: Request) -> Response:
        try:
            return await fn(self, request)
        except errors.StorageError as exc:
            return exc.response()
        except UploadRefused as exc:
            return errors.from_refusal(exc).response()
        except Exception as exc:  # a fault, not a refusal: log it, answer Storage's 500
            log.exception("storage request failed", path=request.url.path, error=str(exc))
            return errors.internal().response()

    return route


class StorageService:
    """The /storage/v1 ASGI app (mounted by gateway.app under its prefix)."""

    def __init__(self, config, pool, root: Path, verify: Callable[[Any], dict]) -> None:
        self.config = config
        self.secret = config.settings.jwt_secret
        self.db = StorageDb(pool)
        self.store = ByteStore(root)
        self.renderer = Renderer(self.store)
        self.verify = verify
        self.limit = parse_size((config.toml.get("storage") or {}).get("file_size_limit"))
        self.limit = self.limit or DEFAULT_LIMIT
        self.limiter = anyio.CapacityLimiter(8)
        self.router = Router(self._routes(), default=self.not_found)

    async def __call__(self, scope, receive_, send) -> None:
        await self.router(scope, receive_, send)

    @staticmethod
    async def not_found(scope, receive_, send) -> None:
        """Storage's answer for a route it does not have (fastify's, in Storage's shape)."""
        path = scope.get("path", "")[len(scope.get("root_path", "")) :]
        err = errors.StorageError(
            404, "NotFound", f"Route {scope.get('method')}:{path} not found", "Not Found"
        )
        await err.response()(scope, receive_, send)

    def _routes(self) -> list[Route]:
        return [Route(path, getattr(self, name), methods=list(m)) for path, m, name, _ in ROUTES]

    # -- plumbing ----------------------------------------------------------------------

    async def run(self, fn, *args, **kwargs):
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs), limiter=self.limiter)

    def caller(self, request: Request) -> dict[str, Any]:
        """The verified claims of `Authorization: Bearer` (Storage's jwt plugin: required on
        authenticated routes; a bad one is 403 AccessDenied with the reason). Without the
        header, an `apikey` header stands in (it is the anon or service-role JWT)."""
        headers = request.headers
        if not headers.get("authorization"):
            if not headers.get("apikey"):
                raise errors.access_denied("jwt must be provided")
            headers = {"authorization": f"Bearer {headers['apikey']}"}
        try:
            return self.verify(headers)
        except PgrstError as exc:
            raise errors.access_denied(exc.message) from exc

    def headers_of(self, request: Request) -> dict[str, str]:
        return {k: v for k, v in request.headers.items() if k not in SECRET_HEADERS}

    def tx(self, request: Request, claims: dict[str, Any]):
        return self.db.tx(
            claims, self.headers_of(request), request.method, client_ip_of(request.scope)
        )

    @staticmethod
    def target(request: Request) -> tuple[str, str]:
        return valid_bucket(request.path_params["bucket"]), valid_key(request.path_params["name"])

    # -- buckets -----------------------------------------------------------------------

    @staticmethod
    def bucket_json(row: dict[str, Any]) -> dict[str, Any]:
        out = object_json(row)
        out["owner"] = out.get("owner") or ""  # Storage's schema serialises null as ""
        out["type"] = "STANDARD"
        return out

    @handles
    async def list_buckets(self, request: Request) -> Response:
        claims = self.caller(request)
        q = request.query_params
        column = q.get("sortColumn", "name")
        if column not in ("id", "name", "created_at", "updated_at"):
            raise errors.invalid_parameter("sortColumn")
        order = "desc" if q.get("sortOrder", "asc").lower() == "desc" else "asc"
        try:
            limit = min(int(q.get("limit") or MAX_LIST), MAX_LIST)
            offset = int(q.get("offset") or 0)
        except ValueError as exc:
            raise errors.invalid_parameter("limit") from exc

        def work():
            with self.tx(request, claims) as conn:
                query = sql.SQL(
                    "select id, name, owner, public, file_size_limit, allowed_mime_types,"
                    " created_at, updated_at from storage.buckets where name ilike %s"
                    " order by {} {} limit %s offset %s"
                ).format(sql.Identifier(column), sql.SQL(order))
                return conn.execute(query, (f"%{q.get('search', '')}%", limit, offset)).fetchall()

        return _json([self.bucket_json(b) for b in await self.run(work)])

    @handles
    async def get_bucket(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id = request.path_params["bucket"]

        def work():
            with self.tx(request, claims) as conn:
                return self.db.bucket(conn, bucket_id)

        row = await self.run(work)
        if row is None:
            raise errors.no_such_bucket()
        return _json(self.bucket_json(row))

    def bucket_values(self, body: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "public" in body:
            values["public"] = bool(body["public"])
        if "file_size_limit" in body:
            values["file_size_limit"] = parse_size(body["file_size_limit"])
        if "allowed_mime_types" in body:
            mimes = body["allowed_mime_types"]
            if mimes is not None and (
                not isinstance(mimes, list)
                or not all(isinstance(m, str) and _MIME.match(m) for m in mimes)
            ):
                raise errors.invalid_parameter(
                    "allowed_mime_types", "allowed_mime_types must be type/subtype values"
                )
            values["allowed_mime_types"] = mimes or None
        return values

    @handles
    async def create_bucket(self, request: Request) -> Response:
        claims = self.caller(request)
        body = await _body(request)
        bucket_id = valid_bucket(str(body.get("id") or body.get("name") or ""))
        values = {"public": False, **self.bucket_values(body)}

        def work():
            with self.tx(request, claims) as conn:
                conn.execute(
                    "insert into storage.buckets"
                    " (id, name, owner, owner_id, public, file_size_limit, allowed_mime_types)"
                    " values (%s, %s, %s, %s, %s, %s, %s)",
                    (
                        bucket_id,
                        str(body.get("name") or bucket_id),
                        _owner(claims),
                        claims.get("sub"),
                        values["public"],
                        values.get("file_size_limit"),
                        values.get("allowed_mime_types"),
                    ),
                )

        try:
            await self.run(work)
        except errors.StorageError as exc:
            if exc.code == "Duplicate":
                raise errors.StorageError(
                    409, "BucketAlreadyExists", "The resource already exists", "Duplicate"
                ) from exc
            raise
        return _json({"name": bucket_id})

    @handles
    async def update_bucket(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id = request.path_params["bucket"]
        values = self.bucket_values(await _body(request))

        def work():
            with self.tx(request, claims) as conn:
                sets = [
                    sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in values
                ]
                query = sql.SQL("update storage.buckets set {} where id = %(id)s returning id")
                query = query.format(sql.SQL(", ").join([*sets, sql.SQL("updated_at = now()")]))
                return conn.execute(query, {**values, "id": bucket_id}).fetchone()

        if await self.run(work) is None:
            raise errors.no_such_bucket()
        return _json({"message": "Successfully updated"})

    @handles
    async def empty_bucket(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id = request.path_params["bucket"]

        def work():
            with self.tx(request, claims) as conn:
                if self.db.bucket(conn, bucket_id) is None:
                    raise errors.no_such_bucket()
                return conn.execute(
                    "delete from storage.objects where bucket_id = %s returning version",
                    (bucket_id,),
                ).fetchall()

        rows = await self.run(work)
        self.store.remove(*(r["version"] for r in rows))
        return _json({"message": "Successfully emptied"})

    @handles
    async def delete_bucket(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id = request.path_params["bucket"]

        def work():
            with self.tx(request, claims) as conn:
                if self.db.bucket(conn, bucket_id) is None:
                    return None
                with self.db.switch(conn, SERVICE):
                    busy = conn.execute(
                        "select exists (select from storage.objects where bucket_id = %s) as b",
                        (bucket_id,),
                    ).fetchone()["b"]
                if busy:
                    raise errors.bucket_not_empty()
                with self.db.switch(conn, claims):
                    return conn.execute(
                        "delete from storage.buckets where id = %s returning id", (bucket_id,)
                    ).fetchone()

        if await self.run(work) is None:
            raise errors.no_such_bucket()
        return _json({"message": "Successfully deleted"})

    # -- uploads -----------------------------------------------------------------------

    def _declared(self, request: Request) -> str | None:
        ctype = request.headers.get("content-type", "")
        return None if ctype.lower().startswith("multipart/form-data") else ctype or None

    def _early_checks(self, request: Request, bucket: dict[str, Any], limit: int) -> None:
        """What Storage refuses before reading the body: a known size over the limit, a
        declared type the bucket does not take."""
        length = request.headers.get("content-length")
        declared = self._declared(request)
        slack = 0 if declared is not None else FIELD_LIMIT  # multipart framing and fields
        if length and length.isdigit() and int(length) > limit + slack:
            raise errors.entity_too_large()
        if declared is not None:
            check_mime(declared, bucket.get("allowed_mime_types"))

    async def _upload(
        self,
        request: Request,
        bucket_id: str,
        name: str,
        claims: dict[str, Any],
        owner: str | None,
        upsert: bool,
    ) -> dict[str, Any]:
        bucket = await self.run(self.db.bucket_rules, bucket_id)
        limit = min(bucket.get("file_size_limit") or self.limit, self.limit)
        self._early_checks(request, bucket, limit)
        row = {
            "bucket_id": bucket_id,
            "name": name,
            "owner": owner,
            "owner_id": owner,
            "version": "1",
            "user_metadata": None,
            "metadata": {
                "mimetype": self._declared(request),
                "contentLength": int(request.headers.get("content-length") or 0),
            },
        }
        # Storage's canUpload: the caller's insert (or upsert), tried and rolled back,
        # before a byte is read.
        await self.run(self.db.can_write, claims, row, upsert=upsert)
        temp = self.store.temp_file()
        inspected = None
        try:
            got = await receive(request, temp, limit)
            check_mime(got.content_type, bucket.get("allowed_mime_types"))
            inspected = await self.run(
                inspect_upload,
                temp,
                got.content_type.split(";")[0].strip() or None,
                bucket,
                workdir=str(self.store.tmp),
            )
            version = self.store.new_version()
            row.update(
                version=version,
                user_metadata=got.user_metadata,
                metadata={
                    "eTag": f'"{inspected.sha256}"',
                    "size": inspected.size,
                    "mimetype": inspected.content_type,
                    "cacheControl": got.cache_control,
                    "contentLength": inspected.size,
                    "httpStatusCode": 200,
                    "sha256": inspected.sha256,
                },
            )
            return await self.run(self._commit, claims, row, inspected.path, upsert)
        finally:
            temp.unlink(missing_ok=True)
            if inspected is not None:
                inspected.discard()

    def _commit(self, claims, row: dict[str, Any], source: Path, upsert: bool) -> dict:
        """The row as the caller, the bytes into place, one transaction; the replaced
        version's bytes go after the commit."""
        placed = False
        try:
            with self.db.tx(SERVICE, method="POST") as conn:
                self.db.lock_name(conn, row["bucket_id"], row["name"])
                old = self.db.find(conn, row["bucket_id"], row["name"], for_update=True)
                with self.db.switch(conn, claims):
                    try:
                        written = self.db.write(conn, row, upsert=upsert)
                    except psycopg.errors.UniqueViolation as exc:
                        raise errors.already_exists() from exc
                self.store.put(source, row["version"])
                placed = True
        except BaseException:
            if placed:
                self.store.remove(row["version"])
            raise
        if old is not None and upsert:
            self.store.remove(old["version"])
        return written

    @handles
    async def upload(self, request: Request) -> Response:
        return await self._upload_route(request, request.headers.get("x-upsert") == "true")

    @handles
    async def update(self, request: Request) -> Response:
        return await self._upload_route(request, True)

    async def _upload_route(self, request: Request, upsert: bool) -> Response:
        claims = self.caller(request)
        bucket_id, name = self.target(request)
        written = await self._upload(request, bucket_id, name, claims, _owner(claims), upsert)
        return _json({"Id": str(written["id"]), "Key": f"{bucket_id}/{name}"})

    @handles
    async def sign_upload(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id, name = self.target(request)
        upsert = request.headers.get("x-upsert") == "true"
        await self.run(self.db.bucket_rules, bucket_id)
        row = {
            "bucket_id": bucket_id,
            "name": name,
            "owner": _owner(claims),
            "owner_id": _owner(claims),
            "version": "1",
            "user_metadata": None,
            "metadata": {"mimetype": request.headers.get("content-type")},
        }
        await self.run(self.db.can_write, claims, row, upsert=upsert)
        token = signing.upload_token(self.secret, f"{bucket_id}/{name}", _owner(claims), upsert)
        return _json(
            {"url": f"/object/upload/sign/{bucket_id}/{name}?token={token}", "token": token}
        )

    @handles
    async def upload_signed(self, request: Request) -> Response:
        bucket_id, name = self.target(request)
        payload = signing.verify(
            self.secret, request.query_params.get("token"), f"{bucket_id}/{name}", signing.UPLOAD
        )
        owner = payload.get("owner")
        await self._upload(request, bucket_id, name, SERVICE, owner, bool(payload.get("upsert")))
        return _json({"Key": f"{bucket_id}/{name}"})

    # -- downloads ---------------------------------------------------------------------

    async def _find(
        self, request: Request, claims, bucket_id: str, name: str, *, public: bool = False
    ) -> dict[str, Any]:
        def work():
            with self.tx(request, claims) as conn:
                if public:
                    return self.db.find_public(conn, bucket_id, name)
                return self.db.find(conn, bucket_id, name)

        row = await self.run(work)
        if row is None:
            raise errors.no_such_key()
        return row

    async def _serve(
        self,
        request: Request,
        claims,
        route: str,
        *,
        public=False,
        extra: dict[str, str] | None = None,
    ) -> Response:
        bucket_id, name = self.target(request)
        for _ in range(2):  # a concurrent replacement may remove the version just read
            row = await self._find(request, claims, bucket_id, name, public=public)
            meta = row["metadata"] or {}
            try:
                asset = delivery.open_asset(
                    self.store.path_of(row["version"]),
                    meta.get("mimetype") or "application/octet-stream",
                    meta.get("eTag") or f'"{row["version"]}"',
                    last_modified=row["updated_at"],
                    extra={**(extra or {}), **self._tag(bucket_id, name, route)},
                )
            except FileNotFoundError:
                continue
            return self._answer(request, asset, route, row)
        raise errors.no_such_key()

    @staticmethod
    def _answer(request: Request, asset: delivery.Asset, route: str, row: dict) -> Response:
        """Serve `asset` of object `row` reached by `route` (the Cache-Control policy)."""
        q = request.query_params
        cache = delivery.cache_control(
            route,
            (row["metadata"] or {}).get("cacheControl"),
            q.get("cacheNonce"),
            row["version"],
        )
        return delivery.serve(
            request,
            asset,
            cache=cache,
            download=q.get("download"),
            head=request.method == "HEAD",
        )

    @staticmethod
    def _tag(bucket_id: str, name: str, route: str) -> dict[str, str]:
        """Cache-Tag (Cloudflare purge by tag) on public answers."""
        return {"Cache-Tag": f"{bucket_id}/{name}"[:1024]} if route == "public" else {}

    @handles
    async def get_object(self, request: Request) -> Response:
        return await self._serve(request, self.caller(request), "authenticated")

    @handles
    async def get_public(self, request: Request) -> Response:
        return await self._serve(request, SERVICE, "public", public=True)

    @handles
    async def get_signed(self, request: Request) -> Response:
        bucket_id, name = self.target(request)
        payload = signing.verify(
            self.secret, request.query_params.get("token"), f"{bucket_id}/{name}", signing.DOWNLOAD
        )
        return await self._serve(
            request, SERVICE, "sign", extra={"Expires": formatdate(payload["exp"], usegmt=True)}
        )

    def _info_json(self, row: dict[str, Any]) -> dict[str, Any]:
        meta = row["metadata"] or {}
        o = object_json(row)
        return {
            "id": o["id"],
            "name": o["name"],
            "version": o["version"],
            "bucket_id": o["bucket_id"],
            "size": meta.get("size"),
            "content_type": meta.get("mimetype"),
            "cache_control": meta.get("cacheControl"),
            "etag": meta.get("eTag"),
            "metadata": row["user_metadata"],
            "last_modified": o["updated_at"],
            "created_at": o["created_at"],
        }

    @handles
    async def info(self, request: Request) -> Response:
        bucket_id, name = self.target(request)
        row = await self._find(request, self.caller(request), bucket_id, name)
        return _json(self._info_json(row))

    @handles
    async def info_public(self, request: Request) -> Response:
        bucket_id, name = self.target(request)
        row = await self._find(request, SERVICE, bucket_id, name, public=True)
        return _json(self._info_json(row))

    # -- signed URLs -------------------------------------------------------------------

    @handles
    async def sign_one(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id, name = self.target(request)
        body = await _body(request)
        expires = signing.check_expires_in(body.get("expiresIn"))
        await self._find(request, claims, bucket_id, name)
        transform = body.get("transform")
        extra, path = None, "object"
        if isinstance(transform, dict) and transform:
            params = params_from(transform)
            extra = {"transformations": ",".join(params.segments()), "format": params.format or ""}
            path = "render/image"
        token = signing.download_token(self.secret, f"{bucket_id}/{name}", expires, extra)
        return _json({"signedURL": f"/{path}/sign/{bucket_id}/{name}?token={token}"})

    @handles
    async def sign_many(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id = valid_bucket(request.path_params["bucket"])
        body = await _body(request)
        expires = signing.check_expires_in(body.get("expiresIn"))
        paths = body.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise errors.invalid_parameter("paths", "paths must be an array of strings")
        if len(paths) > MAX_LIST:
            raise errors.invalid_request(f"At most {MAX_LIST} paths per request.")

        def work():
            with self.tx(request, claims) as conn:
                rows = conn.execute(
                    "select name from storage.objects where bucket_id = %s and name = any(%s)",
                    (bucket_id, paths),
                ).fetchall()
            return {r["name"] for r in rows}

        found = await self.run(work)
        out = []
        for path in paths:
            if path in found:
                token = signing.download_token(self.secret, f"{bucket_id}/{path}", expires)
                out.append(
                    {
                        "error": None,
                        "path": path,
                        "signedURL": f"/object/sign/{bucket_id}/{path}?token={token}",
                    }
                )
            else:
                out.append(
                    {
                        "error": "Either the object does not exist or you do not have access to it",
                        "path": path,
                        "signedURL": None,
                    }
                )
        return _json(out)

    # -- list, move, copy, remove ------------------------------------------------------

    @handles
    async def list_objects(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id = valid_bucket(request.path_params["bucket"])
        body = await _body(request)
        prefix = str(body.get("prefix") or "")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if ".." in prefix.split("/"):
            raise errors.invalid_key(prefix)
        sort = body.get("sortBy") or {}
        try:
            limit = min(max(int(body.get("limit", 100)), 0), MAX_LIST)
            offset = max(int(body.get("offset", 0)), 0)
        except (TypeError, ValueError) as exc:
            raise errors.invalid_parameter("limit") from exc

        def work():
            with self.tx(request, claims) as conn:
                return self.db.search(
                    conn,
                    bucket_id,
                    prefix,
                    str(body.get("search") or ""),
                    limit,
                    offset,
                    str(sort.get("column") or "name"),
                    str(sort.get("order") or "asc"),
                )

        return _json([object_json(r) for r in await self.run(work)])

    def _move_body(self, body: dict[str, Any]) -> tuple[str, str, str, str]:
        bucket_id = valid_bucket(str(body.get("bucketId") or ""))
        source, dest = body.get("sourceKey"), body.get("destinationKey")
        if not isinstance(source, str) or not isinstance(dest, str):
            raise errors.invalid_parameter("sourceKey", "sourceKey and destinationKey are required")
        dest_bucket = valid_bucket(str(body.get("destinationBucket") or bucket_id))
        return bucket_id, valid_key(source), dest_bucket, valid_key(dest)

    @handles
    async def move(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id, source, dest_bucket, dest = self._move_body(await _body(request))
        version = self.store.new_version()

        def work():
            placed = False
            try:
                with self.tx(request, claims) as conn:
                    src = self.db.find(conn, bucket_id, source)
                    if src is None:
                        raise errors.no_such_key()
                    self.store.link(src["version"], version)
                    placed = True
                    try:
                        moved = conn.execute(
                            "update storage.objects set bucket_id = %s, name = %s, version = %s,"
                            " owner = %s, owner_id = %s, updated_at = now() where id = %s"
                            " returning id",
                            (dest_bucket, dest, version, _owner(claims), _owner(claims), src["id"]),
                        ).fetchone()
                    except psycopg.errors.UniqueViolation as exc:
                        raise errors.already_exists() from exc
                    if moved is None:
                        raise errors.access_denied()
            except BaseException:
                if placed:
                    self.store.remove(version)
                raise
            self.store.remove(src["version"])
            return moved

        moved = await self.run(work)
        return _json({"message": "Successfully moved", "Id": str(moved["id"]), "Key": dest})

    @handles
    async def copy(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id, source, dest_bucket, dest = self._move_body(await _body(request))
        upsert = request.headers.get("x-upsert") == "true"
        version = self.store.new_version()

        def work():
            placed, old = False, None
            try:
                with self.tx(request, claims) as conn:
                    src = self.db.find(conn, bucket_id, source)
                    if src is None:
                        raise errors.no_such_key()
                    with self.db.switch(conn, SERVICE):
                        self.db.lock_name(conn, dest_bucket, dest)
                        old = self.db.find(conn, dest_bucket, dest, for_update=True)
                    self.store.link(src["version"], version)
                    placed = True
                    row = {
                        "bucket_id": dest_bucket,
                        "name": dest,
                        "owner": _owner(claims),
                        "owner_id": _owner(claims),
                        "version": version,
                        "metadata": src["metadata"],
                        "user_metadata": src["user_metadata"],
                    }
                    with self.db.switch(conn, claims):
                        try:
                            written = self.db.write(conn, row, upsert=upsert)
                        except psycopg.errors.UniqueViolation as exc:
                            raise errors.already_exists() from exc
            except BaseException:
                if placed:
                    self.store.remove(version)
                raise
            if old is not None and upsert:
                self.store.remove(old["version"])
            return written

        written = await self.run(work)
        return _json(
            {
                "Id": str(written["id"]),
                "Key": f"{dest_bucket}/{dest}",
                "id": str(written["id"]),
                "name": dest,
                "bucket_id": dest_bucket,
                "version": version,
            }
        )

    async def _delete(self, request: Request, claims, bucket_id: str, names: list[str]):
        def work():
            with self.tx(request, claims) as conn:
                return conn.execute(
                    "delete from storage.objects where bucket_id = %s and name = any(%s)"
                    " returning id, bucket_id, name, owner, owner_id, version, metadata,"
                    " user_metadata, created_at, updated_at, last_accessed_at",
                    (bucket_id, names),
                ).fetchall()

        rows = await self.run(work)
        self.store.remove(*(r["version"] for r in rows))
        return rows

    @handles
    async def remove_many(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id = valid_bucket(request.path_params["bucket"])
        prefixes = (await _body(request)).get("prefixes")
        if not isinstance(prefixes, list) or not all(isinstance(p, str) for p in prefixes):
            raise errors.invalid_parameter("prefixes", "prefixes must be an array of strings")
        if len(prefixes) > MAX_REMOVE:
            raise errors.invalid_request(
                f"Bulk object requests are limited to {MAX_REMOVE} objects per request."
            )
        rows = await self._delete(request, claims, bucket_id, prefixes)
        return _json([object_json(r) for r in rows])

    @handles
    async def remove_one(self, request: Request) -> Response:
        claims = self.caller(request)
        bucket_id, name = self.target(request)
        if not await self._delete(request, claims, bucket_id, [name]):
            raise errors.no_such_key()
        return _json({"message": "Successfully deleted"})

    # -- transformations ---------------------------------------------------------------

    async def _render(
        self,
        request: Request,
        claims,
        route: str,
        params: Params,
        *,
        public: bool = False,
        extra: dict[str, str] | None = None,
    ) -> Response:
        bucket_id, name = self.target(request)
        accept = request.headers.get("accept", "")
        for _ in range(2):
            row = await self._find(request, claims, bucket_id, name, public=public)
            meta = row["metadata"] or {}
            try:
                path, ctype, etag = await self.renderer.variant(
                    row["version"], meta.get("mimetype") or "", params, accept
                )
                headers = {**(extra or {}), **self._tag(bucket_id, name, route)}
                if params.segments():
                    headers["X-Transformations"] = ",".join(params.segments())
                if params.format is None:
                    headers["Vary"] = "Accept"
                asset = delivery.open_asset(
                    path, ctype, etag, last_modified=row["updated_at"], extra=headers
                )
            except (FileNotFoundError, errors.StorageError) as exc:
                if isinstance(exc, errors.StorageError) and exc.code != "NoSuchKey":
                    raise
                continue
            return self._answer(request, asset, route, row)
        raise errors.no_such_key()

    @handles
    async def render_authenticated(self, request: Request) -> Response:
        claims = self.caller(request)
        return await self._render(
            request, claims, "authenticated", params_from(request.query_params)
        )

    @handles
    async def render_public(self, request: Request) -> Response:
        return await self._render(
            request, SERVICE, "public", params_from(request.query_params), public=True
        )

    @handles
    async def render_signed(self, request: Request) -> Response:
        bucket_id, name = self.target(request)
        payload = signing.verify(
            self.secret, request.query_params.get("token"), f"{bucket_id}/{name}", signing.DOWNLOAD
        )
        params = params_from_token(payload.get("transformations", ""), payload.get("format"))
        return await self._render(request, SERVICE, "sign", params)
