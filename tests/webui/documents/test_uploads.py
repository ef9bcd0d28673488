"""The upload handler: limits hold while Django reads the body, not after."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.test import RequestFactory

from webui.documents import uploads
from webui.team.models import TeamSettings

pytestmark = pytest.mark.django_db

BOUNDARY = "----homefire-test-boundary"
MB = 1024 * 1024


class _Body(io.RawIOBase):
    """A multipart body of one file of `size` bytes, made as it is read, counting reads."""

    def __init__(self, size: int, name: str = "big.txt"):
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{name}"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        self.parts = [head, size, f"\r\n--{BOUNDARY}--\r\n".encode()]
        self.length = len(head) + size + len(self.parts[2])
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        while self.parts:
            part = self.parts[0]
            if isinstance(part, int):
                count = min(part, len(buffer))
                buffer[:count] = b"a" * count
                self.parts[0] = part - count
                if not self.parts[0]:
                    self.parts.pop(0)
            else:
                count = min(len(part), len(buffer))
                buffer[:count] = part[:count]
                self.parts[0] = part[count:]
                if not self.parts[0]:
                    self.parts.pop(0)
            self.read_bytes += count
            return count
        return 0


def _request(user, body: _Body, *, content_length: int | None = None) -> WSGIRequest:
    environ = RequestFactory()._base_environ(
        REQUEST_METHOD="POST",
        CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
        CONTENT_LENGTH=str(content_length if content_length is not None else body.length),
        **{"wsgi.input": body},
    )
    request = WSGIRequest(environ)
    request.user = user
    request.upload_handlers.insert(0, uploads.limited_handler(request))
    return request


@pytest.fixture
def member():
    team = TeamSettings.current()
    team.document_max_mb, team.document_quota_mb = 1, 200
    team.save()
    return get_user_model().objects.create_user("max")


def test_a_file_within_the_limit_comes_through(member):
    request = _request(member, _Body(MB - 100))
    assert uploads.upload_refusal(request) is None
    assert request.FILES["files"].size == MB - 100


def test_a_body_claiming_2_gb_is_refused_without_reading_it(member):
    body = _Body(2 * 1024 * MB)
    request = _request(member, body)
    assert (
        uploads.upload_refusal(request)
        == "This file is larger than 1 MB, the most a file may be here."
    )
    assert body.read_bytes == 0
    assert not request.FILES


def test_a_file_growing_past_the_limit_is_cut_at_the_limit(member):
    # The body says it is small enough for several files; the one file in it is not.
    body = _Body(5 * MB)
    request = _request(member, body)
    assert "larger than 1 MB" in uploads.upload_refusal(request)
    assert not request.FILES
    assert MB < body.read_bytes < MB + 256 * 1024  # stopped at the chunk that passed it


def test_the_members_room_is_the_limit_once_the_quota_is_nearly_full(member):
    team = TeamSettings.current()
    team.document_max_mb, team.document_quota_mb = 10, 1
    team.save()
    body = _Body(3 * MB)
    request = _request(member, body)
    assert "more than your 1 MB" in uploads.upload_refusal(request)
    assert body.read_bytes == 0


def test_the_wrapped_view_checks_csrf_after_the_handler_is_in_place(member):
    seen = {}

    @uploads.accepts_documents
    def view(request):
        seen["refusal"] = uploads.upload_refusal(request)
        seen["handler"] = type(request.upload_handlers[0])
        return HttpResponse("ok")

    factory = RequestFactory()
    forged = factory.post("/attach", {"files": io.BytesIO(b"hello")})
    forged.user = member
    assert view(forged).status_code == 403
    assert not seen

    secret = "a" * 32
    sent = factory.post("/attach", {"files": io.BytesIO(b"hello")}, HTTP_X_CSRFTOKEN=secret)
    sent.COOKIES["csrftoken"] = secret
    sent.user = member
    assert view(sent).status_code == 200
    assert seen == {"refusal": None, "handler": uploads.DocumentUploadHandler}
