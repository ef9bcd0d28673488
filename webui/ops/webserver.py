"""The web server `manage.py up` runs: Daphne, refusing request bodies over the limits.

Twisted reads a request's whole body (into a temporary file past 100 kB) before Daphne
hands the request to Django, so a limit in Django or in ASGI middleware comes after the
disk has filled. This one acts as the body arrives: a body whose Content-Length is over
the limit is refused before any of it is read (413, then the connection is closed), and
one sent in chunks is cut off when it passes the limit.

HOMEFIRE_MAX_REQUEST_BYTES holds for everyone. A larger body, up to
HOMEFIRE_MAX_UPLOAD_BYTES (a model file uploaded in admin), is read only from a
signed-in staff member: the connection waits, unread, while the session is looked up.

Run it as `python -m webui.ops.webserver` with Daphne's own arguments. Written against
Daphne 4.2 (which builds every request from daphne.http_protocol.WebRequest: replaced
here) and Twisted 26 (Request.gotLength, handleContentChunk, requestReceived);
tests/webui/ops/test_webserver.py holds it to the installed versions.
"""

import asyncio
import json
import logging
import sys
from importlib import import_module

from channels.db import database_sync_to_async
from daphne import http_protocol
from django.conf import settings

log = logging.getLogger(__name__)

REFUSAL = (
    b"HTTP/1.1 413 Content Too Large\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: %d\r\n"
    b"Connection: close\r\n\r\n%s"
)


def staff_session(session_key: str) -> bool:
    """Whether a session cookie belongs to a signed-in, active staff member."""
    from django.contrib.auth import get_user
    from django.http import HttpRequest

    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(request)
    return user.is_active and user.is_staff


# Where the admin uploads a model file (webui/registry/admin.py), as the request line has it.
MODEL_UPLOAD_PATH = b"/admin/registry/llmmodel/upload/"


class LimitedRequest(http_protocol.WebRequest):
    """Daphne's request, refusing a body over the limits as it arrives."""

    allowed = 0  # bytes this request's body may hold
    received = 0
    refused = False
    # While a staff session is looked up: the connection is not read, and a request
    # that is complete already is held back.
    admitting = False
    held: tuple | None = None

    def gotLength(self, length: int | None) -> None:
        limits = settings.HOMEFIRE
        self.allowed = limits["MAX_REQUEST_BYTES"]
        if length is not None and length > self.allowed:
            key = self.getCookie(settings.SESSION_COOKIE_NAME.encode())
            # The larger allowance is for the admin's model upload only: a staff member's
            # body sent anywhere else (documents, imports) keeps the usual limit.
            upload = getattr(self.channel, "_path", b"").startswith(MODEL_UPLOAD_PATH)
            if length > limits["MAX_UPLOAD_BYTES"] or not key or not upload:
                # Nor a "100 Continue" after the refusal (Twisted sends one after this).
                self.requestHeaders.removeHeader(b"Expect")
                self._refuse(length)
                return
            self._admit(key.decode("latin-1"), length)
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.refused:
            return
        self.received += len(data)
        if self.received > self.allowed and not self.admitting:
            self._refuse(self.received)
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self.refused:
            return
        if self.admitting:
            self.held = (command, path, version)
            return
        super().requestReceived(command, path, version)

    def _admit(self, session_key: str, length: int) -> None:
        self.admitting = True
        self.channel.transport.pauseProducing()
        self._admission = asyncio.ensure_future(self._decide(session_key, length))

    async def _decide(self, session_key: str, length: int) -> None:
        try:
            admitted = await database_sync_to_async(staff_session)(session_key)
        except Exception:
            log.exception("could not look up the session of a %s-byte request", length)
            admitted = False
        self.admitting = False
        if self.channel is None:  # the client went away meanwhile
            return
        if not admitted:
            self._refuse(length)
            return
        self.allowed = settings.HOMEFIRE["MAX_UPLOAD_BYTES"]
        self.channel.transport.resumeProducing()
        if self.held:
            super().requestReceived(*self.held)

    def _refuse(self, size: int) -> None:
        self.refused = True
        peer = self.channel.transport.getPeer()
        log.warning(
            "refused a %s-byte request body from %s: the limit is %s bytes",
            size,
            getattr(peer, "host", peer),
            self.allowed,
        )
        # In the API's error shape (OpenAI's), which a browser shows as well as plain text.
        message = f"Request body too large: this server takes at most {self.allowed} bytes."
        error = {"message": message, "type": "invalid_request_error", "param": None}
        text = json.dumps({"error": {**error, "code": "request_too_large"}}).encode()
        self.channel.transport.write(REFUSAL % (len(text), text))
        self.channel.loseConnection()
        if self.content is not None:
            self.content.close()


def main(argv: list[str] | None = None) -> None:
    """Run Daphne, with the same arguments as `python -m daphne`, refusing large bodies."""
    from daphne.cli import CommandLineInterface

    # Daphne's HTTP factory builds each request from this name, looked up per connection.
    http_protocol.WebRequest = LimitedRequest
    CommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
