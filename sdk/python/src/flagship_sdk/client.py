"""`Flagship`: the client. Generated domains (`client.ctf`, `client.learning`, …) over one
transport, plus `auth` (user sessions) and `edge` (`/functions/v1`)."""

from __future__ import annotations

from typing import Any

from flagship_sdk._operations import Domains
from flagship_sdk._transport import Transport
from flagship_sdk.auth import Auth
from flagship_sdk.edge import Edge


class Flagship(Domains):
    """A Flagship API client.

    `url` is the project URL (the gateway: `/rest/v1`, `/auth/v1`, `/functions/v1`) and
    `anon_key` the project's public key. With `api_key`, every call is made as that key
    (exchanged for a short-lived token, exchanged again before it expires); otherwise calls
    are anonymous until `auth.sign_in`.
    """

    def __init__(
        self, url: str, anon_key: str, *, api_key: str | None = None, timeout: float = 30.0
    ) -> None:
        self._transport = Transport(url, anon_key, timeout=timeout)
        super().__init__(self._transport)
        self.auth = Auth(self._transport)
        self.edge = Edge(self._transport)
        if api_key is not None:
            self._transport.use_api_key(api_key)

    @property
    def supabase(self) -> Any:
        """The underlying supabase-py client (storage, realtime, anything not wrapped)."""
        return self._transport.supabase

    def use_api_key(self, api_key: str) -> None:
        """Switch this client to an API key."""
        self._transport.use_api_key(api_key)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Flagship:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
