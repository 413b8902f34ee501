"""The edge service's routes (`/functions/v1`) over httpx: the generated ones
(`EdgeFunctions`: `me`, `ai_search`, `checkout`, …) and, by hand, the API-key exchange (the
transport uses it itself) and the safe upload (a raw body, not JSON)."""

from __future__ import annotations

from urllib.parse import quote

from flagship_sdk import _codec
from flagship_sdk._operations import EdgeFunctions
from flagship_sdk.models import TokenResponse, Uploaded


class Edge(EdgeFunctions):
    """`/functions/v1`: the generated routes, plus the two the runtime wraps by hand."""

    def exchange_api_key(self, api_key: str) -> TokenResponse:
        """Exchange an API key for a token (the client does this itself with `api_key=`)."""
        answer = self._t.edge("POST", "/api-keys/token", json={"api_key": api_key}, auth=False)
        return _codec.decode(TokenResponse, answer)

    def upload(
        self, *, bucket: str, path: str, data: bytes, content_type: str, upsert: bool = False
    ) -> Uploaded:
        """Send a file through the safe-upload pipeline (type, size and content checks,
        re-encoding of images), then to Storage; `upsert` replaces an existing object."""
        answer = self._t.edge(
            "POST",
            f"/files/upload/{quote(bucket, safe='')}/{quote(path, safe='/')}",
            content=data,
            headers={"Content-Type": content_type, "x-upsert": "true" if upsert else "false"},
        )
        return _codec.decode(Uploaded, answer)
