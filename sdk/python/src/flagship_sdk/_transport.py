"""The one way requests leave the SDK: `/rest/v1` through supabase-py's PostgREST client,
`/functions/v1` through httpx, and every failure through `errors.error_for`.

PostgREST's client raises `APIError` without the HTTP status, so the transport hands
supabase-py an httpx client whose response hook records the last status of the calling
thread; the error keeps the real status the gateway answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx
from postgrest.exceptions import APIError
from supabase_auth.errors import AuthError as SupabaseAuthError

from flagship_sdk import _codec
from flagship_sdk.errors import AuthError, FlagshipError, ServerError, error_for

if TYPE_CHECKING:
    from supabase import Client as SupabaseClient

# Seconds before a key token's expiry at which it is exchanged again.
REFRESH_MARGIN = 60


class _StatusRecorder(threading.local):
    status: int | None = None
    request_id: str | None = None


class Transport:
    """Holds the supabase-py client, the edge's httpx client and the API-key token."""

    def __init__(self, url: str, anon_key: str, *, timeout: float = 30.0) -> None:
        from supabase import ClientOptions, create_client

        self.url = url.rstrip("/")
        self.anon_key = anon_key
        self._last = _StatusRecorder()
        self.http = httpx.Client(timeout=timeout, event_hooks={"response": [self._record]})
        options = ClientOptions(
            schema="api",
            auto_refresh_token=False,  # get_session() refreshes when expired; no timer thread
            persist_session=False,
            httpx_client=self.http,
        )
        self.supabase: SupabaseClient = create_client(self.url, anon_key, options=options)
        self._api_key: str | None = None
        self._key_token: str | None = None
        self._key_expires_at = 0.0

    def _record(self, response: httpx.Response) -> None:
        self._last.status = response.status_code
        self._last.request_id = response.headers.get("x-request-id")

    # -- credentials ----------------------------------------------------------------------
    def use_api_key(self, api_key: str) -> dict[str, Any]:
        """Authenticate every later call with this key (exchanged now, and again before the
        token expires)."""
        self._api_key = api_key
        return self._exchange()

    def _exchange(self) -> dict[str, Any]:
        assert self._api_key is not None
        answer = self.edge("POST", "/api-keys/token", json={"api_key": self._api_key}, auth=False)
        self._key_token = answer["access_token"]
        self._key_expires_at = float(answer["expires_at"])
        self._set_bearer(self._key_token)
        return answer

    def _set_bearer(self, token: str) -> None:
        header = f"Bearer {token}"
        self.supabase.options.headers["Authorization"] = header
        self.supabase.postgrest.auth(token)

    def _fresh_key_token(self) -> None:
        if self._api_key and time.time() > self._key_expires_at - REFRESH_MARGIN:
            self._exchange()

    def bearer(self) -> str:
        """The token the next call carries: the key's, the session's, or the anon key."""
        if self._api_key:
            self._fresh_key_token()
            assert self._key_token is not None
            return self._key_token
        session = self.supabase.auth.get_session()
        return session.access_token if session else self.anon_key

    # -- /rest/v1 ---------------------------------------------------------------------------
    def rpc(self, name: str, args: Mapping[str, Any], result: Any) -> Any:
        """Call api.<name> with named arguments; the answer decoded as `result`."""
        payload = {k: _codec.encode(v) for k, v in args.items() if v is not None}
        with self.mapped():
            self._fresh_key_token()
            data = self.supabase.rpc(name, payload).execute().data
        return _codec.decode(result, data) if result is not None else None

    def run(self, build: Callable[[], Any]) -> Any:
        """Execute a PostgREST builder made by `build` (called inside the error mapping)."""
        with self.mapped():
            self._fresh_key_token()
            return build().execute()

    # -- /functions/v1 ----------------------------------------------------------------------
    def edge(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        auth: bool = True,
    ) -> Any:
        """A call to the edge service; its JSON answer (None for 204)."""
        sent = {"apikey": self.anon_key, **(headers or {})}
        if auth:
            sent["Authorization"] = f"Bearer {self.bearer()}"
        try:
            response = self.http.request(
                method,
                f"{self.url}/functions/v1{path}",
                json=_codec.encode(json) if json is not None else None,
                content=content,
                headers=sent,
                params=params,
            )
        except httpx.TransportError as exc:
            raise ServerError("unavailable", str(exc) or type(exc).__name__) from exc
        if response.is_success:
            return response.json() if response.content else None
        raise edge_error(response)

    def call_edge(
        self,
        method: str,
        path: str,
        result: Any,
        *,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> Any:
        """A generated edge call: unset arguments left out, the answer decoded."""
        body = {k: v for k, v in (json or {}).items() if v is not None}
        sent = {k: str(v) for k, v in (headers or {}).items() if v is not None}
        answer = self.edge(method, path, json=body if json is not None else None, headers=sent)
        return _codec.decode(result, answer) if result is not None else None

    # -- errors -----------------------------------------------------------------------------
    @contextmanager
    def mapped(self) -> Iterator[None]:
        """Turn the clients' exceptions into the SDK's typed ones."""
        self._last.status = None
        try:
            yield
        except APIError as exc:
            raise error_for(
                self._last.status,
                platform_code(exc.hint, exc.code, self._last.status),
                exc.message or "",
                details=exc.details,
                sqlstate=exc.code,
                request_id=self._last.request_id,
            ) from exc
        except SupabaseAuthError as exc:
            raise auth_error(exc) from exc
        except httpx.TransportError as exc:
            raise ServerError("unavailable", str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        self.http.close()


def platform_code(hint: str | None, sqlstate: str | None, status: int | None) -> str:
    """The platform's code: the hint of an error raised by an RPC; for a privilege the
    database itself refused (no hint: e.g. a function not granted to anon), the catalogued
    code of the same meaning; otherwise the SQLSTATE."""
    if hint and hint.replace("_", "").isalnum():
        return hint
    if sqlstate == "42501":
        return "not_authenticated" if status == 401 else "forbidden"
    return sqlstate or "internal_error"


def edge_error(response: httpx.Response) -> FlagshipError:
    """The edge's one error body `{code, message, details, request_id}` as an exception."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return error_for(
        response.status_code,
        str(body.get("code") or "internal_error"),
        str(body.get("message") or response.reason_phrase),
        details=body.get("details"),
        request_id=body.get("request_id") or response.headers.get("x-request-id"),
    )


def auth_error(exc: SupabaseAuthError) -> FlagshipError:
    """Supabase Auth refusals: 5xx stay server errors, the rest are `AuthError`s."""
    status = getattr(exc, "status", None)
    code = str(exc.code or "auth_error")
    if isinstance(status, int) and status >= 500:
        return ServerError(code, exc.message, status=status)
    details = {"reasons": exc.reasons} if getattr(exc, "reasons", None) else None
    return AuthError(code, exc.message, status=status, details=details)
