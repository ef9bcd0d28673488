"""Documents made ready with their passages written directly, for the tests of documents
in the chat (the indexing job is tested on its own, in tests/webui/documents)."""

import hashlib

from webui.documents.models import Document, Passage


def ready_document(
    owner,
    name: str,
    texts: list[str],
    *,
    conversation=None,
    collection=None,
    whole: bool = False,
    places: list[str] | None = None,
) -> Document:
    body = "\n\n".join(texts).encode()
    made = Document.objects.create(
        owner=owner,
        conversation=conversation,
        collection=collection,
        name=name,
        stored_as=hashlib.sha256(name.encode() + body).hexdigest()[:32],
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        kind=Document.Kind.TEXT,
        status=Document.Status.READY,
        stage=Document.Stage.DONE,
        total=len(texts),
        done=len(texts),
        whole=whole,
        text_tokens=len(body) // 4,
    )
    start = 0
    for ordinal, text in enumerate(texts):
        Passage.objects.create(
            document=made,
            ordinal=ordinal,
            text=text,
            location=places[ordinal] if places else f"page {ordinal + 1}",
            page=ordinal + 1,
            start=start,
        )
        start += len(text) + 2
    return made
