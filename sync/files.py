"""Files jobs: certificate PDFs, avatar variants, removals (orphans and deleted accounts).

Every job reads the current state from the database when it runs and writes through
Storage with the service key (files.store), so a retried job converges on the same objects:

- `files.certificate_pdf` {certificate_id, code, user_id, action}: a valid certificate's PDF
  (files.certificates) is stored at certificates/<holder id>/<code>.pdf (upsert); a revoked
  one's is removed.
- `files.avatar_variants` {bucket, name}: 64/128/256 px WebP variants at
  avatars/<user id>/variants/<file>/<size>.webp (files.images.variants).
- `files.remove_objects` {bucket, names, reason}: queued by the files.clean_orphans schedule.
- `accounts.user_deleted` {user_id}: every object private.files_objects_of_user lists.
Each removal is audited: one files.object_removed row per object (the storage.objects
trigger) and one files.objects_removed row per batch with its reason.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

from psycopg.types.json import Jsonb

from files import certificates, images
from files.errors import UploadRefused
from files.store import ObjectStore, StorageSettings, StoreError
from flagship.database import connect
from flagship.logs import logger
from sync.handlers import Handler, Job, handler
from sync.settings import WorkerSettings

log = logger("sync.files")
CERTIFICATES = "certificates"
AVATARS = "avatars"
VARIANT_SIZES = (64, 128, 256)


def _store(settings: WorkerSettings) -> ObjectStore:
    return ObjectStore(settings.storage or StorageSettings.from_env())


def _audit(url: str, bucket: str, names: list[str], reason: str, details: dict) -> None:
    with connect(url) as conn:
        conn.execute(
            "select private.files_audit_removal(%s, %s, %s, %s)",
            (bucket, names, reason, Jsonb(details)),
        )
        conn.commit()


def remove_and_audit(
    store: ObjectStore, url: str, bucket: str, names: list[str], reason: str, details: dict
) -> list[str]:
    """Remove objects through Storage, then record the batch in the audit log."""
    if not names:
        return []
    removed = store.remove(bucket, names)
    _audit(url, bucket, names, reason, details | {"removed": len(removed)})
    log.info("files.removed", bucket=bucket, count=len(removed), reason=reason)
    return removed


class CertificatePdf:
    def __init__(self, settings: WorkerSettings) -> None:
        self.url = settings.database_url
        self.store = _store(settings)

    def __call__(self, job: Job) -> None:
        certificate_id = job.payload["certificate_id"]
        with connect(self.url) as conn:
            cert = conn.execute(
                "select private.files_certificate_source(%s) as c", (certificate_id,)
            ).fetchone()["c"]
        if cert is None or cert["status"] != "valid" or cert["path"] is None:
            user, code = job.payload.get("user_id"), job.payload.get("code")
            path = (cert or {}).get("path") or (f"{user}/{code}.pdf" if user and code else None)
            if path:
                remove_and_audit(
                    self.store,
                    self.url,
                    CERTIFICATES,
                    [path],
                    "certificate_revoked",
                    {"certificate_id": certificate_id},
                )
            return
        pdf = certificates.render_certificate_pdf(cert, certificates.verify_url(cert["code"]))
        self.store.upload(
            CERTIFICATES,
            cert["path"],
            pdf,
            "application/pdf",
            upsert=True,
            cache_control="private, max-age=0",
        )
        log.info("files.certificate_pdf", certificate_id=certificate_id, bytes=len(pdf))


class AvatarVariants:
    def __init__(self, settings: WorkerSettings) -> None:
        self.store = _store(settings)

    def __call__(self, job: Job) -> None:
        name = job.payload["name"]
        owner, _, filename = name.partition("/")
        try:
            data = self.store.download(AVATARS, name)
        except StoreError as exc:
            if exc.status in (400, 404):
                log.info("files.avatar_gone", name=name)
                return
            raise
        with tempfile.NamedTemporaryFile(prefix="avatar-") as src:
            src.write(data)
            src.flush()
            try:
                rendered = images.variants(Path(src.name), VARIANT_SIZES)
            except UploadRefused as exc:
                log.warning("files.avatar_undecodable", name=name, code=exc.code)
                return
        for size, variant in rendered.items():
            self.store.upload(
                AVATARS,
                f"{owner}/variants/{filename}/{size}.webp",
                variant.data,
                variant.content_type,
                upsert=True,
                cache_control="public, max-age=31536000",
            )
        log.info("files.avatar_variants", name=name, sizes=list(rendered))


class RemoveObjects:
    def __init__(self, settings: WorkerSettings) -> None:
        self.url = settings.database_url
        self.store = _store(settings)

    def __call__(self, job: Job) -> None:
        names = [str(n) for n in job.payload.get("names") or []]
        remove_and_audit(
            self.store,
            self.url,
            job.payload["bucket"],
            names,
            job.payload.get("reason") or "orphan",
            {"job_id": job.id},
        )


class UserDeleted:
    def __init__(self, settings: WorkerSettings) -> None:
        self.url = settings.database_url
        self.store = _store(settings)

    def __call__(self, job: Job) -> None:
        user_id = job.payload["user_id"]
        with connect(self.url) as conn:
            rows = conn.execute(
                "select bucket_id, name from private.files_objects_of_user(%s)", (user_id,)
            ).fetchall()
        by_bucket: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            by_bucket[row["bucket_id"]].append(row["name"])
        for bucket, names in sorted(by_bucket.items()):
            remove_and_audit(
                self.store,
                self.url,
                bucket,
                names,
                "account_deleted",
                {"user_id": user_id, "job_id": job.id},
            )
        log.info("files.user_deleted", user_id=user_id, objects=len(rows))


@handler("files.certificate_pdf")
def certificate_pdf(settings: WorkerSettings) -> Handler:
    """Render (or remove) a certificate's PDF in the certificates bucket."""
    return CertificatePdf(settings)


@handler("files.avatar_variants")
def avatar_variants(settings: WorkerSettings) -> Handler:
    """The WebP variants of a new avatar."""
    return AvatarVariants(settings)


@handler("files.remove_objects")
def remove_objects(settings: WorkerSettings) -> Handler:
    """Remove a batch of objects (orphans), audited."""
    return RemoveObjects(settings)


@handler("accounts.user_deleted")
def user_deleted(settings: WorkerSettings) -> Handler:
    """A deleted account's objects are removed, audited."""
    return UserDeleted(settings)
