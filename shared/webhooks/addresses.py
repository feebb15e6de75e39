"""Where webhooks may be sent: the guard against server-side request forgery.

Receivers are outside our trust boundary, and a subscription URL is chosen by whoever holds an
API key. So a URL must be https (plain http only to loopback, and only when local development
allows it), and at delivery time every address its host resolves to must be public: the
delivery code then connects to one of the returned addresses itself, so a second DNS answer
(rebinding) cannot send the request elsewhere.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from shared.domain.errors import InvalidInput

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# Characters of a host `inet_aton` may read as an IPv4 address (`127.1`, `0x7f.1`, `2130706433`).
_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$")

_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.IPv6Address("::1")

_FORBIDDEN_V4 = tuple(
    ipaddress.IPv4Network(network)
    for network in (
        "0.0.0.0/8",  # "this network", including the unspecified address
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # carrier-grade NAT (also Alibaba's metadata 100.100.100.200)
        "127.0.0.0/8",  # loopback (allowed separately in local development)
        "169.254.0.0/16",  # link-local, including the metadata address 169.254.169.254
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments (and Oracle's metadata 192.0.0.192)
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, including broadcast 255.255.255.255
    )
)

_FORBIDDEN_V6 = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "::/128",  # unspecified
        "::1/128",  # loopback (allowed separately in local development)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, including Teredo 2001::/32
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing
        "fc00::/7",  # unique local, including the EC2 metadata address fd00:ec2::254
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)

# IPv6 ranges that carry an IPv4 address which is where the packets really go.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class ForbiddenAddress(ValueError):
    """A receiver's host does not resolve, or resolves to an address we must not connect to."""


def validate_url(raw: Any, *, allow_loopback: bool, path: str = "url") -> str:
    """A subscription URL, checked without resolving its host (that happens at delivery)."""
    if not isinstance(raw, str) or not raw:
        raise InvalidInput(f"Invalid `{path}`: must be a URL string.")
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidInput(f"Invalid `{path}`: at most {MAX_URL_LENGTH} characters.")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in raw):
        raise InvalidInput(f"Invalid `{path}`: must not contain spaces or control characters.")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"Invalid `{path}`: not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise InvalidInput(f"Invalid `{path}`: must be an https:// URL.")
    if "@" in parts.netloc:
        raise InvalidInput(f"Invalid `{path}`: must not contain a user name or password.")
    if "#" in raw:
        raise InvalidInput(f"Invalid `{path}`: must not contain a fragment (`#...`).")
    if port == 0:
        raise InvalidInput(f"Invalid `{path}`: port 0 is not a valid port.")
    host = _host(parts.hostname, path)

    address = _literal_address(host, path)
    loopback = _is_loopback_host(host, address)
    if scheme == "http" and not (allow_loopback and loopback):
        raise InvalidInput(f"Invalid `{path}`: must be an https:// URL.")
    if loopback and not allow_loopback:
        raise InvalidInput(f"Invalid `{path}`: webhooks cannot be sent to this machine.")
    if address is not None and is_forbidden(address, allow_loopback=allow_loopback):
        raise InvalidInput(f"Invalid `{path}`: webhooks cannot be sent to a private address.")
    return raw


def _host(hostname: str | None, path: str) -> str:
    if not hostname:
        raise InvalidInput(f"Invalid `{path}`: must include a host.")
    if ":" in hostname:  # only a bracketed IPv6 literal has colons
        try:
            ipaddress.IPv6Address(hostname.split("%", 1)[0])
        except ValueError:
            raise InvalidInput(f"Invalid `{path}`: not a valid IPv6 address.") from None
        return hostname
    try:
        ascii_host = hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(f"Invalid `{path}`: the host is not a valid domain name.") from None
    labels = ascii_host.lower().removesuffix(".").split(".")
    if len(ascii_host) > MAX_HOST_LENGTH or not all(_LABEL.match(label) for label in labels):
        raise InvalidInput(f"Invalid `{path}`: the host is not a valid domain name.")
    return ascii_host.lower().removesuffix(".")


def _literal_address(host: str, path: str) -> IPAddress | None:
    """The address a host names literally, if it does; non-dotted-quad IPv4 forms are refused
    (resolvers read `127.1` or `2130706433` as loopback, and they serve no honest purpose)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            raise InvalidInput(f"Invalid `{path}`: IPv6 zone identifiers are not allowed.")
        return address
    if _NUMERIC_HOST.match(host):
        try:
            socket.inet_aton(host)
        except OSError:
            return None
        raise InvalidInput(
            f"Invalid `{path}`: write an IPv4 address as four decimal numbers (a.b.c.d)."
        )
    return None


def _is_loopback_host(host: str, address: IPAddress | None) -> bool:
    if address is None:
        return host == "localhost" or host.endswith(".localhost")
    return _is_loopback(address)


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LOOPBACK_V4
    embedded = _embedded_ipv4(address)
    return address == _LOOPBACK_V6 or (embedded is not None and embedded in _LOOPBACK_V4)


def is_forbidden(ip: str | IPAddress, *, allow_loopback: bool) -> bool:
    """Whether a connection to `ip` could reach something that is not the public internet.

    Anything that does not parse as an address is forbidden (fail closed).
    """
    if isinstance(ip, str):
        try:
            address: IPAddress = ipaddress.ip_address(ip)
        except ValueError:
            return True
    else:
        address = ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
        if address == _LOOPBACK_V6:
            return not allow_loopback
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_forbidden(embedded, allow_loopback=allow_loopback)
        return any(address in network for network in _FORBIDDEN_V6) or not address.is_global
    if address in _LOOPBACK_V4:
        return not allow_loopback
    return any(address in network for network in _FORBIDDEN_V4) or not address.is_global


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address delivers to: mapped (::ffff:a.b.c.d), compatible
    (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) or 6to4 (2002:aabb:ccdd::)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _IPV4_COMPATIBLE or address in _NAT64:
        if address in _IPV4_COMPATIBLE and int(address) <= 1:
            return None  # :: and ::1 are themselves, not IPv4-compatible addresses
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def resolve_public(host: str, port: int, *, allow_loopback: bool) -> list[str]:
    """Every address `host` resolves to, in resolver order, if all of them are allowed.

    One forbidden answer forbids the host: a name that mixes public and private answers is
    either misconfigured or an attack, and the connection must not depend on which one the
    client happens to try.
    """
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise ForbiddenAddress(f"The host {host!r} does not resolve ({error}).") from None
    addresses: list[str] = []
    for family, _type, _proto, _name, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ForbiddenAddress(f"The host {host!r} does not resolve to any address.")
    for address in addresses:
        if is_forbidden(address, allow_loopback=allow_loopback):
            raise ForbiddenAddress(
                f"The host {host!r} resolves to {address}, which webhooks cannot be sent to."
            )
    return addresses
