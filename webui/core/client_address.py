"""The address a request came from: the connection's peer, or what trusted proxies say.

X-Forwarded-For is text the client can write. A proxy that appends puts the address it
saw on the right, after whatever the client sent, so the header is read from the right:
past each hop that is one of settings.HOMEFIRE["TRUSTED_PROXIES"], and no further than
the first that is not. With no trusted proxies the header is never read.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: HttpRequest | None) -> str:
    """The client's IP address; "" when the connection's peer is not known."""
    if request is None:
        return ""
    meta = request.META
    return address_from(meta.get("REMOTE_ADDR") or "", meta.get("HTTP_X_FORWARDED_FOR") or "")


def address_from(peer: str, forwarded_for: str) -> str:
    """The right-most address, starting from the peer, that is not a trusted proxy."""
    address = _parse(peer)
    if address is None:
        return ""
    proxies = _networks(tuple(settings.HOMEFIRE.get("TRUSTED_PROXIES") or ()))
    hops = reversed(forwarded_for.split(",")) if proxies and forwarded_for else ()
    for hop in hops:
        if not any(address in network for network in proxies):
            break
        # A trusted proxy wrote this entry: the address it saw. Anything unreadable was
        # written by someone else, so the proxy is the last hop known.
        if (seen := _parse(hop)) is None:
            break
        address = seen
    return str(address)


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _parse(text: str) -> Address | None:
    """An address as a proxy writes it: "203.0.113.7", "2001:db8::7", with a port or not."""
    text = text.strip().strip('"')
    if text.startswith("["):  # [2001:db8::7]:443
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # 203.0.113.7:443
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address
