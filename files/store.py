"""Server-side access to Storage: the `storage3` client with the service key.

The edge (after inspecting an upload) and the worker (certificate PDFs, avatar variants,
removals) write through Supabase Storage's own API, exactly as on a hosted project; on the
embedded default that is the gateway's /storage/v1.

Settings (environment): `STORAGE_URL` (default `SUPABASE_URL` + `/storage/v1`, and
`SUPABASE_URL` defaults to http://127.0.0.1:54321) and `SERVICE_ROLE_KEY` (on the embedded
default, where it is not set, the local service-role key the gateway accepts, derived from
`JWT_SECRET` or the local development secret exactly as gateway/keys.py derives it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
from storage3 import SyncStorageClient
from storage3.exceptions import StorageApiError

from flagship.config import LOCAL_JWT_SECRET

# The Supabase CLI's local keys: iss supabase-demo, this expiry (see gateway/keys.py).
_LOCAL_KEY_ISSUER = "supabase-demo"
_LOCAL_KEY_EXPIRY = 1983812996
REMOVE_BATCH = 100


@dataclass(frozen=True)
class StorageSettings:
    url: str
    service_key: str
    timeout: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StorageSettings:
        env = os.environ if env is None else env
        base = env.get("SUPABASE_URL", "http://127.0.0.1:54321").rstrip("/")
        url = env.get("STORAGE_URL", f"{base}/storage/v1").rstrip("/")
        key = env.get("SERVICE_ROLE_KEY") or env.get("SUPABASE_SERVICE_ROLE_KEY")
        if not key:
            secret = env.get("JWT_SECRET") or LOCAL_JWT_SECRET
            key = jwt.encode(
                {"iss": _LOCAL_KEY_ISSUER, "role": "service_role", "exp": _LOCAL_KEY_EXPIRY},
                secret,
                algorithm="HS256",
            )
        return cls(url=url, service_key=key, timeout=float(env.get("STORAGE_TIMEOUT", "60")))


class StoreError(Exception):
    """Storage answered with an error (status and its message)."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ObjectStore:
    """The few Storage operations the server side needs, with the service key."""

    def __init__(self, settings: StorageSettings, http_client: httpx.Client | None = None):
        self.settings = settings
        headers = {
            "apikey": settings.service_key,
            "Authorization": f"Bearer {settings.service_key}",
        }
        client = http_client or httpx.Client(
            headers=headers, timeout=settings.timeout, follow_redirects=True
        )
        self.client = SyncStorageClient(settings.url, headers, http_client=client)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StorageApiError as exc:
            status = int(exc.status) if str(exc.status).isdigit() else None
            raise StoreError(status, exc.message) from exc
        except httpx.HTTPError as exc:
            raise StoreError(None, f"Storage is unreachable: {exc}") from exc

    def upload(
        self,
        bucket: str,
        name: str,
        source: Path | bytes,
        content_type: str,
        *,
        upsert: bool = False,
        cache_control: str | None = None,
    ) -> str:
        """Store `source` at bucket/name; returns the Key Storage answered."""
        options = {"content-type": content_type, "upsert": "true" if upsert else "false"}
        if cache_control:
            options["cache-control"] = cache_control
        api = self.client.from_(bucket)
        if isinstance(source, Path):
            with source.open("rb") as stream:  # streamed, never read whole into memory
                response = self._call(api.upload, name, stream, options)
        else:
            response = self._call(api.upload, name, source, options)
        return getattr(response, "full_path", None) or f"{bucket}/{name}"

    def download(self, bucket: str, name: str) -> bytes:
        return self._call(self.client.from_(bucket).download, name)

    def exists(self, bucket: str, name: str) -> bool:
        return bool(self._call(self.client.from_(bucket).exists, name))

    def remove(self, bucket: str, names: Iterable[str]) -> list[str]:
        """Remove objects (batches of 100); returns the names Storage removed."""
        names = list(names)
        removed: list[str] = []
        for start in range(0, len(names), REMOVE_BATCH):
            batch = names[start : start + REMOVE_BATCH]
            rows = self._call(self.client.from_(bucket).remove, batch) or []
            removed += [row.get("name", "") for row in rows if isinstance(row, dict)]
        return removed

    def signed_url(self, bucket: str, name: str, expires_in: int = 60) -> str:
        answer = self._call(self.client.from_(bucket).create_signed_url, name, expires_in)
        return answer.get("signedURL") or answer.get("signedUrl")

    def close(self) -> None:
        self.client.session.close()
