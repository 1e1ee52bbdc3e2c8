"""Outbound HTTP safety (SSRF): which addresses the service may connect to, and an httpx
transport that connects only to the address it checked.

Everything that fetches a stored or admin-entered URL (crawlers, the article enricher,
webhooks) goes through here, so the rule is the same everywhere:
- only http(s);
- a host's name is resolved once, every address it gives is checked, and the connection goes
  to one of those checked addresses (a second lookup could answer differently: DNS rebinding);
- public addresses pass; private ones (loopback, RFC 1918, CGNAT, ULA...) pass only inside
  DIEMTIN_ALLOWED_PRIVATE_NETWORKS; link-local, cloud metadata, unspecified, multicast and
  broadcast addresses never pass, whatever that setting lists.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Never reachable, even when listed in DIEMTIN_ALLOWED_PRIVATE_NETWORKS: nothing a news site or
# a webhook receiver legitimately uses lives here, and the metadata services hand out cloud
# credentials to whoever asks.
ALWAYS_REFUSED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 reaches the local host on Linux
        "169.254.0.0/16",  # link-local; 169.254.169.254 is AWS/GCP/Azure metadata
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and 255.255.255.255 broadcast
        "::/128",  # unspecified
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
        "fd00:ec2::254/128",  # AWS metadata over IPv6
    )
)
# What the deprecated DIEMTIN_ALLOW_PRIVATE_URLS=true means now.
LOOPBACK_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("127.0.0.1/32"),
    ipaddress.ip_network("::1/128"),
)


class FetchError(Exception):
    """A fetch failed; `retryable` says whether trying again later may succeed."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        # Seconds the server asked us to wait (Retry-After on 429/503), if it said.
        self.retry_after = retry_after


class BlockedURLError(FetchError):
    """The URL is not allowed: wrong scheme, or it points at a private/internal address."""


def parse_networks(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses and CIDRs ("127.0.0.1, 10.8.0.0/16 ::1") as networks; ValueError names a bad
    entry. A bare address is a /32 (/128)."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"DIEMTIN_ALLOWED_PRIVATE_NETWORKS: {item!r} is not an IP address or CIDR "
                "(host names are not accepted: they can be re-pointed)"
            ) from None
    return tuple(networks)


def refusal(ip: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why `ip` may not be contacted, or None when it may."""
    # IPv4-mapped IPv6 (::ffff:127.0.0.1) must be judged by its IPv4 part.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_link_local or ip.is_multicast:
        return f"{ip} is a link-local, multicast or unspecified address"
    if any(ip.version == net.version and ip in net for net in ALWAYS_REFUSED):
        return f"{ip} is a metadata, broadcast or reserved address"
    # is_global also rules out the special-purpose ranges, e.g. carrier-grade NAT 100.64/10.
    if ip.is_global:
        return None
    if any(ip.version == net.version and ip in net for net in allowed):
        return None
    return f"{ip} is a non-public address outside DIEMTIN_ALLOWED_PRIVATE_NETWORKS"


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the operating system's resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # Scoped IPv6 addresses come back as 'fe80::1%eth0'; the scope does not change the verdict.
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _as_networks(allowed: Iterable[IPNetwork] | bool) -> tuple[IPNetwork, ...]:
    # A bool is the old allow_private flag: True meant "loopback" in every caller.
    if isinstance(allowed, bool):
        return LOOPBACK_NETWORKS if allowed else ()
    return tuple(allowed)


def _literal(host: str) -> list[str] | None:
    # An IP literal needs no lookup (and must not be handed to a resolver that could lie).
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return None


def resolve_checked(host: str, port: int, allowed: Iterable[IPNetwork] | bool = ()) -> list[str]:
    """Resolve `host` once and return its addresses, every one of them allowed.

    Raises BlockedURLError when any address is refused (a name that mixes public and
    internal addresses is not trusted), FetchError (retryable) when the name does not
    resolve."""
    networks = _as_networks(allowed)
    host = host.strip("[]")
    addresses = _literal(host)
    if addresses is None:
        try:
            addresses = system_resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r}: {exc}", retryable=True) from exc
        if not addresses:
            raise FetchError(f"cannot resolve host {host!r}: no addresses", retryable=True)
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise BlockedURLError(f"refusing {host!r}: resolver gave {address!r}") from None
        reason = refusal(ip, networks)
        if reason is not None:
            raise BlockedURLError(f"refusing {host!r}: {reason}")
    return addresses


def url_target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; BlockedURLError for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedURLError(f"invalid URL {url!r}: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise BlockedURLError(f"only http and https URLs are allowed, not {parts.scheme!r}")
    host = parts.hostname
    if not host:
        raise BlockedURLError(f"URL has no host: {url!r}")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def check_public_url(url: str, allowed: Iterable[IPNetwork] | bool = ()) -> list[str]:
    """Raise BlockedURLError unless `url` is http(s) and every address of its host may be
    contacted; returns those addresses. A failed lookup raises a retryable FetchError.

    This is a pre-check (clear errors before any work); the connection itself must go
    through PinnedTransport / the Scrapy resolver, which check again at connect time."""
    _scheme, host, port = url_target(url)
    return resolve_checked(host, port, allowed)


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, but every TCP connection goes to an address that
    resolve_checked() just allowed (TLS still verifies and sends SNI for the URL's name,
    as httpcore passes the origin host to start_tls)."""

    def __init__(self, allowed: Iterable[IPNetwork] | bool = ()) -> None:
        self.allowed = _as_networks(allowed)
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first checked address of `host` that answers."""
        last: Exception | None = None
        for address in resolve_checked(host, port, self.allowed):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None  # resolve_checked never returns an empty list
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        """Refused: a Unix socket is a local service by definition."""
        raise BlockedURLError("Unix sockets are not allowed for outbound requests")

    def sleep(self, seconds: float) -> None:
        """As the default backend."""
        self._inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport with PinnedBackend underneath, and never a proxy (a proxy would
    connect on our behalf to wherever the URL points)."""

    def __init__(
        self,
        allowed: Iterable[IPNetwork] | bool = (),
        *,
        verify: ssl.SSLContext | str | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        # Rebuilt as httpx builds it (httpx/_transports/default.py), plus the backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(allowed),
        )


def pinned_client(allowed: Iterable[IPNetwork] | bool = (), **kwargs: Any) -> httpx.Client:
    """An httpx.Client that connects only to checked addresses and ignores proxy settings."""
    return httpx.Client(transport=PinnedTransport(allowed), trust_env=False, **kwargs)
