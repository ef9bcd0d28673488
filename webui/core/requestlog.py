"""One log line per HTTP request: method, path, status, duration, user id and client
address (webui.core.client_address), never a body.

Last in MIDDLEWARE, so it times the view and the middleware inside it, and knows the
user. The query string is left out too: it may carry what someone typed.
"""

import logging
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from webui.core.client_address import client_address

logger = logging.getLogger("homefire.request")


class RequestLogMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        started = time.monotonic()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        _log(request, response, started, user.pk if user is not None else None)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        started = time.monotonic()
        response = await self.get_response(request)
        user = await request.auser() if hasattr(request, "auser") else None
        _log(request, response, started, user.pk if user is not None else None)
        return response


def _log(request: HttpRequest, response: HttpResponseBase, started: float, user_id) -> None:
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    client = client_address(request)
    logger.info(
        "%s %s %s %.1fms %s",
        request.method,
        request.path,
        response.status_code,
        duration_ms,
        client,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user_id": user_id,
            "client": client,
        },
    )
