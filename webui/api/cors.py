"""CORS for the API: a browser page on an origin the admin listed may call /v1/*.

Only /v1/* and only listed origins (HOMEFIRE_API_CORS_ORIGINS, none by default): the
browser UI's own pages and WebSockets keep their same-origin checks. The API's
credential is a bearer key, never a cookie, so no credentials are allowed.
"""

import re

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers

API_PREFIX = "/v1"
METHODS = "GET, POST, DELETE, OPTIONS"
# Always allowed, beside those a preflight asks for: the key and the JSON body.
HEADERS = ("authorization", "content-type")
# Headers a page's script may read: when to retry, and the SDKs' request id.
EXPOSED = "Retry-After, X-Request-Id"
MAX_AGE_SECONDS = 3600
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def _is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _allowed_headers(requested: str) -> str:
    names = [name.strip().lower() for name in requested.split(",") if name.strip()]
    extra = [name for name in names if _HEADER_NAME.match(name) and name not in HEADERS]
    return ", ".join([*HEADERS, *dict.fromkeys(extra)])


class ApiCorsMiddleware:
    """Answer preflights for /v1/* from listed origins, and mark their responses."""

    sync_capable = async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self._acall(request)
        origin = _listed_origin(request)
        if origin and _is_preflight(request):
            return _preflight(request, origin)
        return _marked(self.get_response(request), origin, request)

    async def _acall(self, request):
        origin = _listed_origin(request)
        if origin and _is_preflight(request):
            return _preflight(request, origin)
        return _marked(await self.get_response(request), origin, request)


def _listed_origin(request) -> str | None:
    """The request's Origin when it calls the API from a listed origin, else None."""
    if not _is_api(request.path):
        return None
    origin = request.headers.get("Origin")
    return origin if origin in settings.HOMEFIRE["API_CORS_ORIGINS"] else None


def _is_preflight(request) -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def _preflight(request, origin: str) -> HttpResponse:
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = METHODS
    response["Access-Control-Allow-Headers"] = _allowed_headers(
        request.headers.get("Access-Control-Request-Headers", "")
    )
    response["Access-Control-Max-Age"] = str(MAX_AGE_SECONDS)
    patch_vary_headers(response, ("Origin",))
    return response


def _marked(response, origin: str | None, request):
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = EXPOSED
    if _is_api(request.path) and settings.HOMEFIRE["API_CORS_ORIGINS"]:
        # The same URL answers differently by origin: caches must keep them apart.
        patch_vary_headers(response, ("Origin",))
    return response
