"""The OpenID Connect provider as Homefire knows it: its settings and its discovery document.

The document (the provider's endpoints and issuer) is fetched on first use and kept for an
hour, never at start: a provider that is down must not keep Homefire, or its local
accounts, from starting and signing in. mozilla-django-oidc reads its settings by name;
`library_setting` answers those names from HOMEFIRE_OIDC and the document.
"""

import threading
import time
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY

BACKEND = "webui.accounts.oidc_backend.OidcBackend"
DISCOVERY_MAX_AGE = 3600
_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")

_lock = threading.Lock()
_cached: dict = {"url": "", "at": 0.0, "document": None}


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be had; the text says why, for the log."""


def configured() -> bool:
    """Is sign-in with OpenID Connect on (a discovery URL and a client id are set)?"""
    oidc = settings.HOMEFIRE_OIDC
    return bool(oidc["DISCOVERY_URL"] and oidc["CLIENT_ID"])


def provider_name() -> str:
    return settings.HOMEFIRE_OIDC["NAME"]


def discovery() -> dict:
    """The provider's discovery document, fetched when none is kept or it is an hour old."""
    url = settings.HOMEFIRE_OIDC["DISCOVERY_URL"]
    with _lock:
        fresh = time.monotonic() - _cached["at"] < DISCOVERY_MAX_AGE
        if _cached["document"] is not None and _cached["url"] == url and fresh:
            return _cached["document"]
    try:
        response = requests.get(url, timeout=settings.HOMEFIRE_OIDC["TIMEOUT"])
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"discovery document at {url}: {exc}") from exc
    if not isinstance(document, dict) or any(
        not isinstance(document.get(key), str) for key in _REQUIRED
    ):
        raise ProviderUnavailable(f"discovery document at {url} lacks one of {_REQUIRED}")
    with _lock:
        _cached.update(url=url, at=time.monotonic(), document=document)
    return document


def forget_discovery() -> None:
    """Drop the kept document (tests; a provider that moved its endpoints)."""
    with _lock:
        _cached.update(url="", at=0.0, document=None)


_FROM_DOCUMENT = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


def library_setting(name: str, *default):
    """Answer mozilla-django-oidc's setting `name` the way Homefire configures it."""
    if name in _FROM_DOCUMENT:
        return discovery()[_FROM_DOCUMENT[name]]
    oidc = settings.HOMEFIRE_OIDC
    fixed = {
        "OIDC_RP_CLIENT_ID": oidc["CLIENT_ID"],
        "OIDC_RP_CLIENT_SECRET": oidc["CLIENT_SECRET"],
        "OIDC_RP_SIGN_ALGO": oidc["SIGN_ALGO"],
        "OIDC_RP_SCOPES": oidc["SCOPES"],
        "OIDC_TIMEOUT": oidc["TIMEOUT"],
        "OIDC_VERIFY_SSL": True,
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        # Kept for logging out at the provider (id_token_hint); the access token is not.
        "OIDC_STORE_ID_TOKEN": True,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc_callback",
        "OIDC_CREATE_USER": True,
    }
    if name in fixed:
        return fixed[name]
    return getattr(settings, name, *default)


def signed_in_with_oidc(request) -> bool:
    return request.session.get(BACKEND_SESSION_KEY) == BACKEND


def provider_logout_url(request, come_back_to: str) -> str | None:
    """Where to send a member who signed in with the provider to end that session too:
    the provider's end_session_endpoint, or None when it has none or cannot be reached
    (then only Homefire's session ends)."""
    id_token = request.session.get("oidc_id_token")
    if not (configured() and signed_in_with_oidc(request) and id_token):
        return None
    try:
        endpoint = discovery().get("end_session_endpoint")
    except ProviderUnavailable:
        return None
    if not isinstance(endpoint, str) or not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": come_back_to,
            "client_id": settings.HOMEFIRE_OIDC["CLIENT_ID"],
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
