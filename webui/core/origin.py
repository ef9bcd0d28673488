"""The WebSocket origin check: the site's own origin or a trusted one, as Django's CSRF check."""

import io
from collections import defaultdict
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http.request import is_same_domain

SCHEMES = {"ws": "http", "wss": "https"}


def handshake_request(scope: dict) -> ASGIRequest:
    """The WebSocket handshake as Django sees an HTTP request: its Host, scheme and headers
    under the same settings (ALLOWED_HOSTS, USE_X_FORWARDED_HOST, SECURE_PROXY_SSL_HEADER)."""
    scheme = SCHEMES.get(scope.get("scheme", "ws"), "http")
    return ASGIRequest({**scope, "type": "http", "method": "GET", "scheme": scheme}, io.BytesIO())


def origin_allowed(request) -> bool:
    """Whether the request's Origin is the site's own (scheme, host and port) or one of
    CSRF_TRUSTED_ORIGINS: the rule of Django's CsrfViewMiddleware._origin_verified."""
    origin = request.headers.get("Origin")
    try:
        host = request.get_host()
    except DisallowedHost:
        return False  # a Host the site does not answer to, as HTTP refuses it with a 400
    if not origin:
        return False
    if origin == f"{'https' if request.is_secure() else 'http'}://{host}":
        return True
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in {entry for entry in trusted if "*" not in entry}:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    return any(
        is_same_domain(parsed.netloc, domain) for domain in _wildcards(trusted)[parsed.scheme]
    )


def _wildcards(trusted: list[str]) -> dict[str, list[str]]:
    """Trusted origins with subdomains (`https://*.example.com`), by scheme."""
    domains = defaultdict(list)
    for entry in trusted:
        if "*" in entry:
            parsed = urlsplit(entry)
            domains[parsed.scheme].append(parsed.netloc.lstrip("*"))
    return domains


class SiteOriginValidator:
    """ASGI middleware: refuse a WebSocket whose Origin is not the site's own or trusted.

    Channels' AllowedHostsOriginValidator compares host names only, so a page on the
    same host but another port (another web app on the office server) could open a
    member's socket with her cookies; Django's CSRF check refuses that origin, and so
    does this one.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SiteOriginValidator checks WebSocket connections only.")
        if origin_allowed(handshake_request(scope)):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
