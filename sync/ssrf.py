"""SSRF guard for outgoing webhooks: which destinations a delivery may connect to.

`resolve(url, policy)` parses the URL, resolves its host once and returns a `Destination`
naming the address to connect to; the caller connects to that address (never to the name
again), so a DNS answer that changes between the check and the connection — rebinding —
cannot redirect the request. Every address the name resolves to must be allowed.

Refused: schemes other than https (http only with `allow_http`, the embedded default),
credentials in the URL, unknown ports below 1, and any address that is not public —
private (RFC 1918), loopback, link-local (169.254/16, where cloud metadata services live),
carrier-grade NAT (100.64/10), multicast, reserved and documentation ranges, IPv6 unique-local
(fc00::/7), link-local, IPv4-mapped/compatible, NAT64 and 6to4 forms of such addresses — and
the cloud metadata addresses and names that are public-looking. `allowed` lists addresses a
test may reach anyway; it may hold loopback addresses only (`Policy.__post_init__`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Named ranges: the reason a refusal gives. Anything else that is not globally routable is
# refused as "not a public address".
NETWORKS: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this-network address"),
    ("10.0.0.0/8", "private address"),
    ("100.64.0.0/10", "carrier-grade NAT address"),
    ("127.0.0.0/8", "loopback address"),
    ("169.254.0.0/16", "link-local address (cloud metadata)"),
    ("172.16.0.0/12", "private address"),
    ("192.168.0.0/16", "private address"),
    ("224.0.0.0/4", "multicast address"),
    ("240.0.0.0/4", "reserved address"),
    ("::/128", "unspecified address"),
    ("::1/128", "loopback address"),
    ("fc00::/7", "unique-local address"),
    ("fe80::/10", "link-local address"),
    ("ff00::/8", "multicast address"),
)
# Metadata services on addresses that the ranges above do not all cover.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer (a public address)
        "fd00:ec2::254",  # AWS IPv6
    )
)
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "metadata.goog"})
_NETS = tuple((ipaddress.ip_network(n), why) for n, why in NETWORKS)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIXTO4 = ipaddress.ip_network("2002::/16")


class Blocked(ValueError):
    """The destination is refused; the message says why (it goes to the delivery log)."""


def refusal(address: IPAddress) -> str | None:
    """Why `address` may not be reached, or None when it is a public address."""
    if address in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "IPv4-mapped IPv6 address"
        if address in NAT64 or address in SIXTO4:
            embedded = (
                ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
                if address in NAT64
                else address.sixtofour
            )
            inner = refusal(embedded) if embedded is not None else None
            if inner:
                return f"{inner} inside an IPv6 transition address"
        if int(address) >> 32 == 0 and int(address) > 1:
            return "IPv4-compatible IPv6 address"
    for network, why in _NETS:
        if address.version == network.version and address in network:
            return why
    if not address.is_global:
        return "not a public address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (A and AAAA), through the system resolver."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Blocked(f"DNS lookup failed: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Policy:
    allow_http: bool = False  # plain http: the embedded default only
    allowed: frozenset[IPAddress] = frozenset()  # loopback addresses tests may reach
    resolver: Resolver = field(default=system_resolver, compare=False)

    def __post_init__(self) -> None:
        for address in self.allowed:
            if not address.is_loopback:
                raise ValueError(f"only loopback addresses may be allowlisted, not {address}")

    @classmethod
    def from_setting(cls, allow_http: bool, addresses: Iterable[str]) -> Policy:
        return cls(allow_http, frozenset(ipaddress.ip_address(a.strip()) for a in addresses))


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # the name in the URL (Host header, TLS server name and certificate check)
    port: int
    address: str  # the resolved address the connection goes to
    target: str  # path and query

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def parse(url: str, *, allow_http: bool) -> SplitResult:
    """The URL's parts, or Blocked for what no resolution can make acceptable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Blocked(f"malformed URL: {exc}") from exc
    if parts.scheme not in ("https", "http"):
        raise Blocked("only https URLs are delivered")
    if parts.scheme == "http" and not allow_http:
        raise Blocked("plain http is refused: use https")
    if parts.username is not None or parts.password is not None:
        raise Blocked("credentials in the URL are refused")
    if not parts.hostname:
        raise Blocked("the URL has no host")
    if port == 0:
        raise Blocked("port 0 is refused")
    if parts.hostname.rstrip(".").lower() in METADATA_NAMES:
        raise Blocked("cloud metadata host")
    return parts


def resolve(url: str, policy: Policy) -> Destination:
    """Check `url` and resolve it once: the Destination to connect to, or Blocked."""
    parts = parse(url, allow_http=policy.allow_http)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in policy.resolver(host, port)]
    if not addresses:
        raise Blocked("the host resolves to no address")
    for address in addresses:
        if address in policy.allowed:
            continue
        why = refusal(address)
        if why:
            raise Blocked(f"{why} {address} refused")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(parts.scheme, host, port, str(addresses[0]), target)
