"""Taking files from a request without reading past the limits.

Django keeps an uploaded file in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) and
past that streams it to a temporary file: DATA_UPLOAD_MAX_MEMORY_SIZE does not count
files, so on its own Django would write a 2 GB upload to disk in full. The handler here
goes first: a body whose Content-Length is over what this member may upload is not read
at all, and a file that grows past the per-file limit (or the member's room) stops the
upload at that chunk. In front of Django, `manage.py up`'s web server already refuses any
body over HOMEFIRE_MAX_REQUEST_BYTES before reading it (webui.ops.webserver).

A view that takes documents is wrapped with `accepts_documents`, and asks
`upload_refusal(request)` before it looks at request.FILES:

    @login_required
    @accepts_documents
    def attach(request, ...):
        if refusal := upload_refusal(request):
            ... show refusal ...
        for file in request.FILES.getlist("files"):
            services.add_document(request.user, file, conversation=...)

The CSRF check runs after the handler is in place (csrf_protect inside, as Django's
upload handler docs ask); a browser sends the token in the X-CSRFToken header, so a body
refused unread still passes it.
"""

from functools import wraps

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from webui.documents import limits
from webui.documents.storage import too_large_text

# Files one request may carry, and the bytes of everything else in its body.
MAX_FILES = 20
OVERHEAD = 1024 * 1024
_REFUSAL = "_document_upload_refusal"


class DocumentUploadHandler(FileUploadHandler):
    """Counts each file's bytes as they arrive and stops the upload past the limits."""

    def __init__(self, request, *, per_file: int, room: int):
        super().__init__(request)
        self.per_file = per_file
        self.room = room
        self.size = 0
        self.total = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        allowed = min(self.per_file * MAX_FILES, self.room) + OVERHEAD
        if content_length and content_length > allowed:
            refusal = too_large_text(self.per_file) if self.room >= self.per_file else None
            self._refuse(refusal or limits.quota_text())
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.size = 0

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        self.total += len(raw_data)
        if self.size > self.per_file:
            self._refuse(too_large_text(self.per_file))
            raise StopUpload(connection_reset=True)
        if self.total > self.room:
            self._refuse(limits.quota_text())
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None  # the handlers after this one keep the file

    def _refuse(self, message: str) -> None:
        setattr(self.request, _REFUSAL, message)


def limited_handler(request) -> DocumentUploadHandler:
    """The handler for this request's user: their per-file limit and the room they have."""
    user = request.user
    room = limits.room_bytes(user) if user.is_authenticated else 0
    return DocumentUploadHandler(request, per_file=limits.max_file_bytes(), room=room)


def accepts_documents(view):
    """Wrap a view that takes files: the limits hold while the body is read."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        request.upload_handlers.insert(0, limited_handler(request))
        return protected(request, *args, **kwargs)

    return wrapped


def upload_refusal(request) -> str | None:
    """Why the request's files were cut off (then none of them is to be kept), or None."""
    request.POST  # noqa: B018  (reading the body runs the handlers)
    return getattr(request, _REFUSAL, None)
