"""Where a model download may connect: public addresses, and those an admin allows.

A URL's host is resolved once, every address it resolves to is checked, and the request
goes to a checked address itself (the name travels in the Host header and in TLS's SNI, so
that certificates are still verified for the name): a name that resolves elsewhere a moment
later (DNS rebinding) cannot slip past. Redirects are followed here, each one checked.
Proxies from the environment are not used: a proxy would resolve the name itself.
"""

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAX_REDIRECTS = 10
_REDIRECTS = {301, 302, 303, 307, 308}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
SETTING = "HOMEFIRE_DOWNLOAD_ALLOW"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The download may not go there; the text says why, for the admin."""

    def __str__(self) -> str:
        return f"Refused: {self.args[0]}"


@dataclass(frozen=True)
class Allowed:
    """One entry of the allow-list: a network (one address or more), on one port or all."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: int | None = None

    def admits(self, address: Address, port: int) -> bool:
        return address in self.network and self.port in (None, port)


def parse_allowed(entry: str) -> Allowed:
    """An allow-list entry: 10.0.0.0/8, 192.168.1.5, 127.0.0.1:8000, fd00::/8 or [::1]:8000."""
    text, port = entry.strip(), None
    if text.startswith("["):
        text, _, rest = text[1:].partition("]")
        if rest:
            port = _port(entry, rest.removeprefix(":"))
    elif text.count(":") == 1:
        text, rest = text.split(":")
        port = _port(entry, rest)
    try:
        return Allowed(ipaddress.ip_network(text, strict=False), port)
    except ValueError:
        raise ImproperlyConfigured(
            f"{SETTING} holds {entry!r}: expected an address or network (CIDR), "
            "optionally with :port (e.g. 192.168.1.5:8000, 10.0.0.0/8, [::1]:8000)."
        ) from None


def _port(entry: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ImproperlyConfigured(f"{SETTING} holds {entry!r}: {text!r} is not a port number.")
    return int(text)


def allow_list() -> list[Allowed]:
    return [parse_allowed(entry) for entry in settings.HOMEFIRE["DOWNLOAD_ALLOW"]]


def kind_of(address: Address) -> str | None:
    """What kind of address this is when downloads may not reach it unless allowed; None
    for a public one. An IPv4 address inside an IPv6 one (mapped, 6to4, Teredo, NAT64) is
    judged as itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return kind_of(address.ipv4_mapped)
        inner = [address.sixtofour, address.teredo[1] if address.teredo else None]
        if address in _NAT64:
            inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        for embedded in filter(None, inner):
            if kind := kind_of(embedded):
                return kind
    for kind, flag in (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a reserved", address.is_reserved),
        ("a private", address.is_private),
    ):
        if flag:
            return f"{kind} address"
    return None if address.is_global else "not a public address"


def _host_port(address: Address, port: int) -> str:
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


def checked_addresses(host: str, port: int) -> list[Address]:
    """The addresses host resolves to, once each of them is one downloads may reach."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"{host} cannot be resolved ({exc}).") from None
    addresses = list(dict.fromkeys(_plain(info[4][0]) for info in found))
    allowed = allow_list()
    for address in addresses:
        kind = kind_of(address)
        if kind is None or any(entry.admits(address, port) for entry in allowed):
            continue
        named = host if _is_address(host) else f"{host} resolves to {address}, which"
        raise Refused(
            f"{named} is {kind}. Downloads reach public addresses only, unless "
            f"{SETTING} names {_host_port(address, port)} (or its network)."
        )
    return addresses


@contextmanager
def get(url: str, *, headers: dict[str, str], timeout: httpx.Timeout) -> Iterator[httpx.Response]:
    """GET url with its body left to stream, following redirects; every destination is
    checked, and the connection goes to the checked address."""
    current = httpx.URL(url)
    with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as client:
        for hop in range(MAX_REDIRECTS + 1):
            if current.scheme not in ("http", "https"):
                raise Refused(f"the server redirected to {current}, which is not HTTP(S).")
            try:
                response = _send(client, current, headers)
            except Refused as exc:
                if hop == 0:
                    raise
                raise Refused(f"the server redirected to {current}: {exc.args[0]}") from None
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location:
                try:
                    yield response
                finally:
                    response.close()
                return
            response.close()
            current = current.join(location)
    raise Refused(f"more than {MAX_REDIRECTS} redirects, starting at {url}.")


def _send(client: httpx.Client, url: httpx.URL, headers: dict[str, str]) -> httpx.Response:
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = checked_addresses(host, port)
    extensions = {} if _is_address(host) else {"sni_hostname": host}
    headers = {**headers, "Host": url.netloc.decode("ascii")}
    error: httpx.ConnectError | None = None
    for address in addresses:  # each in turn, as a browser does
        pinned = url.copy_with(host=str(address), port=port)
        request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as exc:
            error = exc
    assert error is not None  # getaddrinfo never answers an empty list
    raise error


def _plain(text: str) -> Address:
    """The address, an IPv4 one mapped into IPv6 as itself (as the allow-list names it)."""
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
