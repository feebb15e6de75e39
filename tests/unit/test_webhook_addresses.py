"""The SSRF guard: which URLs a subscription may have, and which addresses we connect to."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from shared.domain.errors import InvalidInput
from shared.webhooks.addresses import (
    ForbiddenAddress,
    is_forbidden,
    resolve_public,
    validate_url,
)

FORBIDDEN_ALWAYS = [
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "169.254.169.254",  # AWS/GCP/Azure instance metadata
    "169.254.170.2",  # ECS task metadata
    "169.254.0.1",
    "fd00:ec2::254",  # EC2 metadata over IPv6
    "fc00::1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "0.0.0.0",
    "0.1.2.3",
    "::",
    "100.64.0.1",
    "100.100.100.200",  # Alibaba metadata, inside CGNAT
    "100.127.255.255",
    "192.0.0.192",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "ff02::1",
    "240.0.0.1",
    "255.255.255.255",
    "2001:db8::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "100::1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0.0.0.0",
    "::ffff:192.168.1.1",
    "::10.0.0.1",  # IPv4-compatible
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::1",
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:c0a8:101::",  # 6to4 of 192.168.1.1
    "not an address",
    "",
]
LOOPBACK = ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1", "::127.0.0.1", "2002:7f00:1::"]
PUBLIC = [
    "8.8.8.8",
    "93.184.216.34",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("ip", FORBIDDEN_ALWAYS)
@pytest.mark.parametrize("allow_loopback", [False, True])
def test_private_and_special_addresses_are_forbidden(ip: str, allow_loopback: bool) -> None:
    assert is_forbidden(ip, allow_loopback=allow_loopback)


@pytest.mark.parametrize("ip", LOOPBACK)
def test_loopback_is_forbidden_unless_allowed(ip: str) -> None:
    assert is_forbidden(ip, allow_loopback=False)
    assert not is_forbidden(ip, allow_loopback=True)


@pytest.mark.parametrize("ip", PUBLIC)
@pytest.mark.parametrize("allow_loopback", [False, True])
def test_public_addresses_are_allowed(ip: str, allow_loopback: bool) -> None:
    assert not is_forbidden(ip, allow_loopback=allow_loopback)


def test_address_objects_are_accepted() -> None:
    import ipaddress

    assert is_forbidden(ipaddress.ip_address("10.0.0.1"), allow_loopback=False)
    assert not is_forbidden(ipaddress.ip_address("8.8.8.8"), allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks/userflow",
        "https://example.com",
        "https://EXAMPLE.com:8443/a/b?c=d&e=f",
        "HTTPS://example.com/",
        "https://sub.example.co.uk./x",
        "https://my_host.example.com/",
        "https://93.184.216.34/hook",
        "https://[2606:4700:4700::1111]:443/hook",
        "https://bücher.example/hook",
        "https://cafe.be/hook",  # hex-looking names that are not IPv4 numbers
        "https://deadbeef/hook",
        "https://1password.com/hook",
        "https://example.com/" + "a" * (2048 - len("https://example.com/")),
    ],
)
def test_public_https_urls_are_valid(url: str) -> None:
    assert validate_url(url, allow_loopback=False) == url


@pytest.mark.parametrize(
    "url",
    [
        None,
        42,
        "",
        "example.com/hook",
        "//example.com/hook",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://example.com/hook",
        "https://",
        "https:///path",
        "https://user:pass@example.com/hook",
        "https://user@example.com/hook",
        "https://example.com/hook#frag",
        "https://example.com/hook#",
        "https://example.com:0/",
        "https://example.com:99999/",
        "https://example.com:port/",
        "https://exa mple.com/",
        "https://example.com/\nX-Injected: 1",
        "https://exa\x00mple.com/",
        "https://-bad-.example.com/",
        "https://a..b.example.com/",
        "https://" + "a" * 64 + ".example.com/",
        "https://example.com/" + "a" * 2048,
        "https://[not-an-ip]/",
        "https://[::1/",
        "https://127.0.0.1/hook",
        "https://127.1/hook",
        "https://2130706433/hook",
        "https://0x7f000001/hook",
        "https://0177.0.0.1/hook",
        "https://localhost/hook",
        "https://localhost:8080/hook",
        "https://api.localhost/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://10.0.0.1/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[fe80::1%25eth0]/",
        "https://0.0.0.0/",
        "https://100.64.0.1/",
        "https://[::ffff:169.254.169.254]/",
    ],
)
def test_invalid_urls_name_the_url_field(url: Any) -> None:
    with pytest.raises(InvalidInput, match=r"^Invalid `url`: "):
        validate_url(url, allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/hooks",
        "http://127.0.0.1:9000/",
        "http://127.0.0.2/",
        "http://[::1]:9000/",
        "https://localhost/hook",
        "https://127.0.0.1/hook",
    ],
)
def test_loopback_receivers_are_valid_in_local_development(url: str) -> None:
    assert validate_url(url, allow_loopback=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "http://93.184.216.34/hook",
        "http://10.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/",
        "https://user@localhost/",
    ],
)
def test_local_development_still_refuses_everything_else(url: str) -> None:
    with pytest.raises(InvalidInput, match=r"^Invalid `url`: "):
        validate_url(url, allow_loopback=True)


def test_the_path_is_part_of_the_message() -> None:
    with pytest.raises(InvalidInput, match=r"^Invalid `body\.url`: "):
        validate_url("http://example.com", allow_loopback=False, path="body.url")


def _answers(*addresses: str) -> list[tuple[Any, ...]]:
    result: list[tuple[Any, ...]] = []
    for address in addresses:
        if ":" in address:
            result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 443, 0, 0)))
        else:
            result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 443)))
    return result


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A fake resolver: host -> answers (or an exception to raise)."""
    table: dict[str, Any] = {}
    calls: list[tuple[Any, ...]] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        calls.append((host, port))
        answer = table[host]
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    table["__calls__"] = calls
    return table


def test_public_hosts_resolve_to_all_their_addresses(dns: dict[str, Any]) -> None:
    dns["example.com"] = _answers("93.184.216.34", "2606:2800:220:1::1", "93.184.216.34")
    addresses = resolve_public("example.com", 443, allow_loopback=False)
    assert addresses == ["93.184.216.34", "2606:2800:220:1::1"]
    assert dns["__calls__"] == [("example.com", 443)]


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["10.0.0.5"],
        ["172.16.3.4"],
        ["192.168.0.10"],
        ["169.254.169.254"],
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["fd00:ec2::254"],
        ["0.0.0.0"],
        ["100.64.0.1"],
        ["fe80::1%eth0"],
        ["93.184.216.34", "10.0.0.1"],  # one private answer forbids the host
        ["10.0.0.1", "93.184.216.34"],
    ],
)
def test_hosts_resolving_to_forbidden_addresses_are_refused(
    dns: dict[str, Any], answers: list[str]
) -> None:
    dns["evil.example"] = _answers(*answers)
    with pytest.raises(ForbiddenAddress, match=r"evil\.example"):
        resolve_public("evil.example", 443, allow_loopback=False)


def test_loopback_resolution_is_allowed_in_local_development(dns: dict[str, Any]) -> None:
    dns["localhost"] = _answers("::1", "127.0.0.1")
    assert resolve_public("localhost", 8080, allow_loopback=True) == ["::1", "127.0.0.1"]
    with pytest.raises(ForbiddenAddress):
        resolve_public("localhost", 8080, allow_loopback=False)


@pytest.mark.parametrize(
    "answer",
    [socket.gaierror(socket.EAI_NONAME, "Name or service not known"), UnicodeError("label")],
)
def test_unresolvable_hosts_are_refused(dns: dict[str, Any], answer: Exception) -> None:
    dns["nowhere.example"] = answer
    with pytest.raises(ForbiddenAddress, match="does not resolve"):
        resolve_public("nowhere.example", 443, allow_loopback=False)


def test_hosts_without_internet_addresses_are_refused(dns: dict[str, Any]) -> None:
    dns["empty.example"] = []
    with pytest.raises(ForbiddenAddress):
        resolve_public("empty.example", 443, allow_loopback=False)
    dns["unix.example"] = [(socket.AF_UNIX, socket.SOCK_STREAM, 0, "", "/tmp/sock")]
    with pytest.raises(ForbiddenAddress):
        resolve_public("unix.example", 443, allow_loopback=False)


def test_forbidden_address_is_a_value_error() -> None:
    assert issubclass(ForbiddenAddress, ValueError)
