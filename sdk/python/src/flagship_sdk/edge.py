"""The edge service's routes (`/functions/v1`) over httpx: API-key exchange, the caller's
account, safe uploads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flagship_sdk import _codec

if TYPE_CHECKING:
    from flagship_sdk._transport import Transport


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyToken:
    """A short-lived access token exchanged for an API key."""

    access_token: str
    token_type: str
    expires_in: int
    expires_at: int
    scopes: list[str]
    api_key_id: str
    user_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Me:
    """Who the edge sees: the user, the role, the key (if any) and its scopes, the account."""

    user_id: str
    role: str
    via_api_key: str | None = None
    scopes: list[str] | None = None
    account: dict[str, Any] | None = None


class Edge:
    """`/functions/v1` calls that are not PostgREST RPCs."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def exchange_api_key(self, api_key: str) -> KeyToken:
        """Exchange an API key for a token (the client does this itself with `api_key=`)."""
        answer = self._t.edge("POST", "/api-keys/token", json={"api_key": api_key}, auth=False)
        return _codec.decode(KeyToken, answer)

    def me(self) -> Me:
        """The caller as the edge sees it, with its account (`api.accounts_get_my_account`;
        an API key needs the scope `profile:read`)."""
        return _codec.decode(Me, self._t.edge("GET", "/me"))

    def upload(self, *, bucket: str, path: str, data: bytes, content_type: str) -> dict[str, Any]:
        """Send a file through the safe-upload pipeline, then to Storage."""
        return self._t.edge(
            "POST",
            f"/files/upload/{quote(bucket, safe='')}/{quote(path, safe='/')}",
            content=data,
            headers={"Content-Type": content_type},
        )
