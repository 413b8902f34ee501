"""The client's address: the socket peer, or X-Forwarded-For when the peer is a trusted proxy.

TRUSTED_PROXIES (CIDRs) names the hops allowed to say who the client is; by default there
are none and X-Forwarded-For is ignored. With proxies configured, the header is read from
the right: entries added by trusted hops are skipped, and the first other entry is the
client (the ones further left were written by the client itself and prove nothing).
The result is stored once per request in `scope["state"]["client_ip"]` for the rate
limiter, the API key check and the database (`flagship.database.as_caller(client_ip=)`).
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from edge.settings import Network

MAX_HOPS = 20  # X-Forwarded-For entries read at most


def parse_ip(value: str | None) -> str | None:
    """`value` as a normalised IP address, or None."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _trusted(ip: str, proxies: tuple[Network, ...]) -> bool:
    address = ipaddress.ip_address(ip)
    return any(address in net for net in proxies)


def client_address(scope: Scope, proxies: tuple[Network, ...]) -> str | None:
    """The client's IP address for this request (None when the peer names no IP)."""
    client = scope.get("client")
    peer = parse_ip(client[0] if client else None)
    if peer is None or not proxies or not _trusted(peer, proxies):
        return peer
    forwarded = Headers(scope=scope).getlist("x-forwarded-for")
    hops = [h.strip() for line in forwarded for h in line.split(",")][-MAX_HOPS:]
    address = peer
    for hop in reversed(hops):
        ip = parse_ip(hop)
        if ip is None:
            break  # a malformed entry: keep the last address we could vouch for
        address = ip
        if not _trusted(ip, proxies):
            break
    return address


def client_ip_of(scope: Scope) -> str | None:
    return scope.get("state", {}).get("client_ip")


class ClientAddressMiddleware:
    """Resolve the client address once, before anything reads it."""

    def __init__(self, app: ASGIApp, proxies: tuple[Network, ...]) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["client_ip"] = client_address(scope, self.proxies)
        await self.app(scope, receive, send)
