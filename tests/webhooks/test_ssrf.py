"""The SSRF guard (sync/ssrf.py): every refusal, resolution once, and the sender's limits
(no redirects, timeouts, size cap) against real local receivers."""

from __future__ import annotations

import ipaddress
import ssl
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from flagship import config
from flagship.testing.webhooks import Receiver, Reply
from sync import ssrf
from sync.settings import WebhookSettings
from sync.webhooks import Sender

PUBLIC = "93.184.215.14"


class FixedDNS:
    """DNS answers we choose, to test what the guard does with an answer (there is no DNS
    server to poison here; production resolves with ssrf.system_resolver)."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.table[host]


def policy(table: dict[str, list[str]] | None = None, dns: FixedDNS | None = None, **kw):
    return ssrf.Policy(resolver=dns or FixedDNS(table), **kw)


REFUSED_ADDRESSES = [
    ("10.1.2.3", "private address"),
    ("172.16.0.1", "private address"),
    ("192.168.1.1", "private address"),
    ("127.0.0.1", "loopback address"),
    ("127.5.5.5", "loopback address"),
    ("0.0.0.0", "this-network address"),  # noqa: S104 (an address refused, not bound)
    ("169.254.169.254", "cloud metadata address"),
    ("169.254.1.1", "link-local address"),
    ("169.254.170.2", "cloud metadata address"),
    ("100.64.0.1", "carrier-grade NAT address"),
    ("100.100.100.200", "cloud metadata address"),
    ("168.63.129.16", "cloud metadata address"),
    ("224.0.0.1", "multicast address"),
    ("239.255.255.250", "multicast address"),
    ("240.0.0.1", "reserved address"),
    ("198.18.0.1", "not a public address"),
    ("192.0.2.1", "not a public address"),
    ("::1", "loopback address"),
    ("::", "unspecified address"),
    ("fc00::1", "unique-local address"),
    ("fd12:3456::1", "unique-local address"),
    ("fd00:ec2::254", "cloud metadata address"),
    ("fe80::1", "link-local address"),
    ("ff02::1", "multicast address"),
    ("::ffff:127.0.0.1", "IPv4-mapped IPv6 address"),
    ("::ffff:169.254.169.254", "IPv4-mapped IPv6 address"),
    ("::7f00:1", "IPv4-compatible IPv6 address"),
    ("64:ff9b::a00:1", "private address inside an IPv6 transition address"),
    ("2002:a9fe:a9fe::1", "inside an IPv6 transition address"),
]


@pytest.mark.parametrize(("address", "reason"), REFUSED_ADDRESSES)
def test_each_non_public_address_is_refused(address, reason):
    assert reason in (ssrf.refusal(ipaddress.ip_address(address)) or "")
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(ssrf.Blocked, match="refused"):
        ssrf.resolve(f"https://{host}/hook", policy())
    # ... and when a name resolves to it
    with pytest.raises(ssrf.Blocked, match=reason.split(" inside")[0]):
        ssrf.resolve("https://hooks.example.com/hook", policy({"hooks.example.com": [address]}))


def test_public_addresses_pass():
    for address in (PUBLIC, "2606:4700::1111", "64:ff9b::5db8:d70e"):
        assert ssrf.refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/", "plain http is refused"),
        ("ftp://hooks.example.com/", "only https"),
        ("file:///etc/passwd", "only https"),
        ("gopher://hooks.example.com/", "only https"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://user@hooks.example.com/", "credentials"),
        ("https:///nohost", "no host"),
        ("https://hooks.example.com:0/", "port 0"),
        ("https://hooks.example.com:99999/", "malformed"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://METADATA.GOOGLE.INTERNAL./x", "metadata"),
    ],
)
def test_each_malformed_or_forbidden_url_is_refused(url, message):
    dns = FixedDNS({"hooks.example.com": [PUBLIC]})
    with pytest.raises(ssrf.Blocked, match=message):
        ssrf.resolve(url, policy(dns=dns))
    assert dns.calls == []  # refused before any DNS lookup


def test_every_resolved_address_must_be_public():
    p = policy({"split.example.com": [PUBLIC, "10.0.0.7"]})
    with pytest.raises(ssrf.Blocked, match=r"private address 10\.0\.0\.7"):
        ssrf.resolve("https://split.example.com/", p)


def test_the_name_is_resolved_once_and_the_address_is_kept():
    dns = FixedDNS({"hooks.example.com": [PUBLIC]})
    dest = ssrf.resolve("https://hooks.example.com:8443/in?x=1", policy(dns=dns))
    assert dns.calls == ["hooks.example.com"]
    assert (dest.address, dest.host, dest.port, dest.target) == (
        PUBLIC,
        "hooks.example.com",
        8443,
        "/in?x=1",
    )
    assert dest.host_header == "hooks.example.com:8443"


def test_http_and_loopback_only_when_allowed():
    allowed = policy(allow_http=True, allowed=frozenset({ipaddress.ip_address("127.0.0.1")}))
    assert ssrf.resolve("http://127.0.0.1:9/x", allowed).address == "127.0.0.1"
    with pytest.raises(ssrf.Blocked, match=r"loopback address 127\.0\.0\.2"):
        ssrf.resolve("http://127.0.0.2:9/x", allowed)
    with pytest.raises(ssrf.Blocked, match="private"):
        ssrf.resolve("http://10.0.0.1/x", allowed)


def test_the_allowlist_takes_loopback_addresses_only():
    with pytest.raises(ValueError, match="only loopback"):
        ssrf.Policy(allowed=frozenset({ipaddress.ip_address("10.0.0.1")}))
    with pytest.raises(config.ConfigError, match="WEBHOOK_ALLOW_ADDRESSES"):
        WebhookSettings.from_env({"WEBHOOK_ALLOW_ADDRESSES": "127.0.0.1,192.168.0.10"})
    with pytest.raises(config.ConfigError, match="local development only"):
        WebhookSettings.from_env({"FLAGSHIP_ENV": "production", "WEBHOOK_ALLOW_HTTP": "1"})
    with pytest.raises(config.ConfigError, match="local development only"):
        WebhookSettings.from_env(
            {"FLAGSHIP_ENV": "production", "WEBHOOK_ALLOW_ADDRESSES": "127.0.0.1"}
        )
    assert WebhookSettings.from_env({}).allow_http is False  # https only by default


# -- the sender against real receivers --------------------------------------------------------
def local_sender(**kw) -> Sender:
    defaults = {"allow_http": True, "allow_addresses": ("127.0.0.1",), "read_timeout": 1.0}
    return Sender(WebhookSettings(**{**defaults, **kw}))


def test_a_blocked_destination_is_never_contacted():
    with Receiver() as rx:
        sender = Sender(WebhookSettings(allow_http=True))  # nothing allowlisted
        outcome = sender.post(rx.url, {}, b"{}")
        assert not outcome.ok and outcome.error.startswith("blocked: loopback address")
        time.sleep(0.2)
        assert rx.received == []


def test_the_connection_goes_to_the_resolved_address_with_the_name_as_host():
    with Receiver() as rx:
        dns = FixedDNS({"hooks.example.com": ["127.0.0.1"]})
        sender = local_sender()
        sender.policy = policy(
            dns=dns, allow_http=True, allowed=frozenset({ipaddress.ip_address("127.0.0.1")})
        )
        outcome = sender.post(f"http://hooks.example.com:{rx.port}/in", {}, b"{}")
        assert outcome.ok, outcome
        assert rx.received[0].headers["host"] == f"hooks.example.com:{rx.port}"
        assert rx.received[0].path == "/in"
        assert dns.calls == ["hooks.example.com"]


def test_redirects_are_not_followed():
    with Receiver() as target:
        location = {"location": target.url}
        with Receiver(lambda n, r: Reply(status=302, headers=location)) as rx:
            outcome = local_sender().post(rx.url, {}, b"{}")
            assert (outcome.ok, outcome.status) == (False, 302)
            assert outcome.error == "redirect not followed (HTTP 302)"
        time.sleep(0.2)
        assert target.received == []


def test_a_response_slower_than_the_read_timeout_fails():
    with Receiver(lambda n, r: Reply(delay=1.5)) as rx:
        start = time.monotonic()
        outcome = local_sender(read_timeout=0.3).post(rx.url, {}, b"{}")
        assert not outcome.ok and outcome.error == "timeout: waiting for the response"
        assert time.monotonic() - start < 1.4


def test_a_dripping_body_is_cut_at_the_deadline():
    with Receiver(lambda n, r: Reply(body=b"x" * 200, drip=0.02)) as rx:
        # each byte arrives within the read timeout; the whole answer does not
        outcome = local_sender(connect_timeout=0.2, read_timeout=0.5).post(rx.url, {}, b"{}")
        assert not outcome.ok
        assert outcome.error.startswith("timeout")


def test_a_huge_response_is_read_up_to_the_cap_only():
    huge = b"A" * (20 * 1024 * 1024)
    with Receiver(lambda n, r: Reply(body=huge)) as rx:
        outcome = local_sender(max_response_bytes=4096).post(rx.url, {}, b"{}")
        assert outcome.ok and outcome.status == 200
        assert outcome.body == "A" * 2048  # the log keeps the first 2 KiB
        deadline = time.monotonic() + 5
        while rx.write_failures == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rx.write_failures == 1  # the sender hung up instead of reading 20 MB


def test_a_reset_connection_is_reported():
    with Receiver(lambda n, r: Reply(reset=True)) as rx:
        outcome = local_sender().post(rx.url, {}, b"{}")
        assert (outcome.ok, outcome.error) == (False, "connection reset by the receiver")


def test_a_closed_port_is_a_connection_failure():
    with Receiver() as rx:
        url = rx.url
    outcome = local_sender().post(url, {}, b"{}")
    assert not outcome.ok and outcome.error == "connection refused"


# -- https: the connection goes to the resolved address, the certificate is checked for the name
def self_signed(tmp_path, name: str) -> tuple[ssl.SSLContext, str]:
    """A server context with a certificate for `name` and the CA file that trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx, str(cert_file)


def test_https_connects_to_the_resolved_address_and_checks_the_name(tmp_path):
    ctx, ca_file = self_signed(tmp_path, "hooks.example.com")
    with Receiver(tls=ctx) as rx:
        dns = FixedDNS({"hooks.example.com": ["127.0.0.1"], "evil.example.com": ["127.0.0.1"]})
        sender = Sender(WebhookSettings(ca_file=ca_file, read_timeout=2.0))  # https only
        sender.policy = policy(dns=dns, allowed=frozenset({ipaddress.ip_address("127.0.0.1")}))
        ok = sender.post(f"https://hooks.example.com:{rx.port}/in", {}, b"{}")
        assert ok.ok, ok
        assert rx.received[0].headers["host"] == f"hooks.example.com:{rx.port}"
        # the same address under a name the certificate does not carry is refused
        wrong = sender.post(f"https://evil.example.com:{rx.port}/in", {}, b"{}")
        assert not wrong.ok and wrong.error.startswith("TLS error"), wrong
        assert len(rx.received) == 1
        plain = sender.post(f"http://hooks.example.com:{rx.port}/in", {}, b"{}")
        assert plain.error == "blocked: plain http is refused: use https"
