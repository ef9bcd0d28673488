"""The chat completions extension that names documents: `"collections": [ids]`, searched
for the question's passages, and `"files": [ids]`: short files given whole, longer ones
searched as a collection is.

The answer's sources are numbered in its prompt and stored as its citations, as in the
chat (webui.chat.sources). Access is the chat's (webui.documents.access): an id the
caller may not read (unknown, another member's, a collection not shared with them) is a
404 that names it, never skipped.
"""

from webui.api.errors import ApiError
from webui.api.params import Request
from webui.chat import sources
from webui.chat.context_meter import model_context
from webui.chat.models import Conversation
from webui.documents import access
from webui.documents.models import Document


class DocumentNotFound(ApiError):
    status, code = 404, "document_not_found"


class DocumentNotReady(ApiError):
    status, code = 409, "document_not_ready"


def request_sources(*, user, model, request: Request) -> list[sources.Source]:
    """The passages a request's answer is given from the collections and files it names.

    Each id is checked first: one the caller may not read (unknown, another member's,
    a collection not shared with them) is a 404 naming it.
    """
    if not (request.collections or request.files):
        return []
    for pk in request.collections:
        if access.usable_collection(user, pk) is None:
            raise DocumentNotFound(f"The collection {pk} does not exist.", param="collections")
    for pk in request.files:
        _check_ready(access.readable_document(user, pk), pk)
    question = next((m["content"] for m in reversed(request.messages) if m["role"] == "user"), "")
    return sources.gather(
        conversation=Conversation(owner=user),
        question=question,
        collection_ids=request.collections,
        document_ids=request.files,
        context_size=model_context(model),
    )


def _check_ready(document: Document | None, pk: int) -> None:
    if document is None:
        raise DocumentNotFound(f"The file {pk} does not exist.", param="files")
    if document.status == Document.Status.FAILED:
        raise DocumentNotReady(f"The file {pk} could not be read: {document.error}", param="files")
    if document.status != Document.Status.READY:
        raise DocumentNotReady(
            f"The file {pk} is still being indexed. Try again when its status is ready "
            "(GET /v1/files/{id}).",
            param="files",
        )
