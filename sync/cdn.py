"""`files.cdn_purge` jobs: ask the CDN in front of Storage to drop an object's public URLs.

The database queues a job when an object of a public bucket is replaced, moved or deleted
(trigger `files_cdn_purge` on storage.objects). The handler POSTs Cloudflare's purge-by-URL
body `{"files": [...]}` to `CDN_PURGE_URL` (for Cloudflare:
`https://api.cloudflare.com/client/v4/zones/<zone id>/purge_cache`), with
`Authorization: Bearer <CDN_PURGE_TOKEN>`; the URLs are the object's public URL and its
public transformation URL under `STORAGE_PUBLIC_URL` (the project URL the CDN serves).
Versioned URLs (`?cacheNonce=<version>`) never need a purge. Without `CDN_PURGE_URL` the
job is done with nothing to do (Supabase's Smart CDN purges its own cache). A non-2xx answer
raises, so the worker retries with backoff; the job's idempotency key goes along.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from flagship.logs import logger
from sync.handlers import Handler, Job, handler
from sync.settings import WorkerSettings

TOPIC = "files.cdn_purge"
TIMEOUT = 10.0
log = logger("sync.cdn")


def public_urls(base: str, bucket: str, name: str) -> list[str]:
    """The unversioned public URLs a CDN may hold for an object."""
    path = f"{quote(bucket, safe='')}/{quote(name, safe='/')}"
    root = base.rstrip("/") + "/storage/v1"
    return [f"{root}/object/public/{path}", f"{root}/render/image/public/{path}"]


class CdnPurge:
    def __init__(self, url: str, token: str, public_url: str) -> None:
        self.url = url
        self.token = token
        self.public_url = public_url

    def __call__(self, job: Job) -> None:
        files = public_urls(self.public_url, job.payload["bucket_id"], job.payload["name"])
        if not self.url:
            log.info("cdn.purge.skipped", job=job.id, reason="CDN_PURGE_URL not set")
            return
        headers = {"Idempotency-Key": job.idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        answer = httpx.post(self.url, json={"files": files}, headers=headers, timeout=TIMEOUT)
        if answer.status_code >= 300:
            raise RuntimeError(f"CDN purge answered {answer.status_code}")
        log.info("cdn.purge.done", job=job.id, files=len(files), status=answer.status_code)


@handler(TOPIC)
def cdn_purge(settings: WorkerSettings) -> Handler:
    """The `files.cdn_purge` handler with the worker's CDN settings."""
    return CdnPurge(settings.cdn_purge_url, settings.cdn_purge_token, settings.storage_public_url)
