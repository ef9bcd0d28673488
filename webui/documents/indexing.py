"""Indexing a document, in steps the documents queue runs one after another.

1. `extract`: read the file's text (webui.documents.extraction: a PDF, DOCX or HTML
   file in a child process), split it into passages and store them, without vectors,
   in one transaction.
2. `embed_next`, again and again: the next batch of passages to vectors (one per window
   of whole sentences of a passage, webui.documents.chunking.windows), through the
   team's embedding model, with the progress (done/total) stored on the document.
   Each step is short, so the jobs of the same process (housekeeping) never wait long
   behind a large file, and a step that is run again does nothing twice.

The end is always clear: `ready` (with vectors, or for full-text search only when no
embedding model is enabled or no worker answers, and the note says so), or `failed`
with the reason and no passage left behind. Vectors are never made up.
"""

import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from webui.documents import embedding, extraction, storage
from webui.documents.chunking import chunk, document_text, windows
from webui.documents.errors import DocumentRefused
from webui.documents.models import Document, Passage
from webui.registry import embeddings

log = logging.getLogger(__name__)

# Files this short (in tokens, estimated) are given to the model whole, not searched.
WHOLE_TOKENS = 1500
CHARS_PER_TOKEN = 4

NO_MODEL = "Searched by its words only: no embedding model is enabled."
MISSING = "The file is missing from the documents store (deleted, or not restored)."
UNEXPECTED = "Homefire could not index this file (an internal error). Try again, or ask an admin."


def extract(document_id: int) -> bool:
    """Store the passages of a document being indexed; True when they are to be embedded."""
    document = Document.objects.filter(pk=document_id, status=Document.Status.INDEXING).first()
    if document is None:
        return False
    _progress(document_id, stage=Document.Stage.EXTRACTING, done=0, total=0)
    path = storage.path_of(document.stored_as)
    if not path.is_file():
        fail(document_id, MISSING)
        return False
    try:
        sections = extraction.read(document.kind, path)
        chunks = chunk(sections)
        if not chunks:
            raise DocumentRefused("This file has no text.")
        tokens = len(document_text(sections)) // CHARS_PER_TOKEN + 1
        with transaction.atomic():
            if not _lock(document_id):
                return False
            Passage.objects.filter(document_id=document_id).delete()
            Passage.objects.bulk_create(
                Passage(
                    document_id=document_id,
                    ordinal=number,
                    text=piece.text,
                    location=piece.location,
                    page=piece.page,
                    start=piece.start,
                )
                for number, piece in enumerate(chunks)
            )
            _progress(
                document_id,
                stage=Document.Stage.EMBEDDING,
                done=0,
                total=len(chunks),
                text_tokens=tokens,
                whole=tokens <= WHOLE_TOKENS,
            )
    except DocumentRefused as exc:
        fail(document_id, exc.message)
        return False
    except IntegrityError:
        # The document was deleted while it was read.
        return False
    except Exception:
        log.exception("indexing document %s failed", document_id)
        fail(document_id, UNEXPECTED)
        return False
    return True


def embed_next(document_id: int) -> bool:
    """Embed the next batch of a document's passages; True while more are left."""
    document = Document.objects.filter(pk=document_id).exclude(status=Document.Status.FAILED)
    document = document.first()
    if document is None or document.stage in (Document.Stage.QUEUED, Document.Stage.EXTRACTING):
        return False  # its text is not read yet: `extract` comes first
    model = embedding.current_model()
    if model is None:
        _finish(document_id, model=None, note=NO_MODEL)
        return False
    waiting = _unembedded(document_id, model)
    batch = list(waiting.order_by("ordinal")[: embedding.batch_size(model)])
    if not batch:
        _finish(document_id, model=model)
        return False
    # Each passage's windows (whole sentences, up to 25 words) are embedded one by one.
    pieces = [windows(passage.text) or [passage.text] for passage in batch]
    try:
        vectors = embedding.embed(model, [piece for texts in pieces for piece in texts])
    except embeddings.EmbeddingError as exc:
        _finish(document_id, model=None, note=f"Searched by its words only: {exc}")
        return False
    except Exception:
        log.exception("embedding the passages of document %s failed", document_id)
        _finish(document_id, model=None, note="Searched by its words only: embedding failed.")
        return False
    at = 0
    for passage, texts in zip(batch, pieces, strict=True):
        passage.vector = embedding.to_bytes(vectors[at : at + len(texts)])
        passage.vectors = len(texts)
        passage.embedding_model = model
        at += len(texts)
    with transaction.atomic():
        if not _lock(document_id):
            return False
        Passage.objects.bulk_update(batch, ["vector", "vectors", "embedding_model"])
        total = Passage.objects.filter(document_id=document_id).count()
        left = _unembedded(document_id, model).count()
        _progress(document_id, stage=Document.Stage.EMBEDDING, done=total - left, total=total)
    if left:
        return True
    _finish(document_id, model=model)
    return False


def lacking(model):
    """The ids of the documents with passages lacking `model`'s vectors."""
    passages = Passage.objects.filter(Q(vector__isnull=True) | ~Q(embedding_model=model))
    return passages.values("document_id")


def fail(document_id: int, reason: str) -> None:
    """End indexing with a reason, leaving no passage of the document behind."""
    with transaction.atomic():
        Passage.objects.filter(document_id=document_id).delete()
        Document.objects.filter(pk=document_id).update(
            status=Document.Status.FAILED,
            stage=Document.Stage.DONE,
            done=0,
            total=0,
            whole=False,
            error=reason[:300],
            note="",
            embedding_model=None,
        )


def restart(document: Document) -> None:
    """Mark a document to be read again from its file (re-indexing from scratch)."""
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.INDEXING,
        stage=Document.Stage.QUEUED,
        done=0,
        total=0,
        error="",
        note="",
    )


def _unembedded(document_id: int, model):
    passages = Passage.objects.filter(document_id=document_id)
    return passages.filter(Q(vector__isnull=True) | ~Q(embedding_model=model))


def _finish(document_id: int, *, model, note: str = "") -> None:
    """Make the document ready: with `model`'s vectors, or with none (and the note why)."""
    with transaction.atomic():
        if not _lock(document_id):
            return
        if model is None:
            Passage.objects.filter(document_id=document_id).update(
                vector=None, vectors=1, embedding_model=None
            )
        total = Passage.objects.filter(document_id=document_id).count()
        Document.objects.filter(pk=document_id).update(
            status=Document.Status.READY,
            stage=Document.Stage.DONE,
            done=total if model else 0,
            total=total,
            error="",
            note=note[:300],
            embedding_model=model,
            indexed_at=timezone.now(),
        )


def _lock(document_id: int) -> bool:
    """Hold the document's row for this transaction; False when it was deleted."""
    return Document.objects.select_for_update().filter(pk=document_id).exists()


def _progress(document_id: int, **fields) -> None:
    Document.objects.filter(pk=document_id).update(**fields)
