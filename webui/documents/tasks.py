"""The documents queue's jobs, run by `manage.py housekeeping` (which serves the queue;
the periodic catch-up runs there on its own housekeeping queue).

Each job is one short step of indexing (webui.documents.indexing) and sends the next;
a step run twice does nothing twice, so a job handed out again after a lost worker is
harmless.
"""

from datetime import timedelta

from celery import shared_task
from django.db import close_old_connections
from django.utils import timezone

from webui.documents import embedding, indexing, storage
from webui.documents.models import Document
from webui.registry import presence

QUEUE = "documents"
# A document still queued this long after upload was never sent (no broker then).
WAITING = timedelta(minutes=10)
# A stored file no row points at, this old, was left by an upload that failed half-way.
ORPHAN_AGE = timedelta(hours=1)


def send_index(document_id: int) -> None:
    """Queue a document to be read and embedded."""
    index_document.apply_async((document_id,), queue=QUEUE)


def send_embed(document_id: int) -> None:
    """Queue the next embedding step of a document."""
    embed_document.apply_async((document_id,), queue=QUEUE)


def send_catch_up() -> None:
    catch_up.apply_async(queue=QUEUE)


@shared_task(name="documents.index_document")
def index_document(document_id: int) -> None:
    """Read a new document's text into passages, then embed them."""
    try:
        if indexing.extract(document_id):
            send_embed(document_id)
    finally:
        close_old_connections()


@shared_task(name="documents.embed_document")
def embed_document(document_id: int) -> None:
    """Embed the next batch of a document's passages, and send the rest behind."""
    try:
        if indexing.embed_next(document_id):
            send_embed(document_id)
    finally:
        close_old_connections()


@shared_task(name="documents.catch_up")
def catch_up() -> int:
    """Send what waits: documents queued while no broker answered, and ready documents
    without vectors of the current embedding model (the admin changed the model, or no
    worker answered when they were indexed); remove files no document row points at."""
    try:
        storage.sweep(ORPHAN_AGE)
        return send_waiting() + send_stale()
    finally:
        close_old_connections()


def send_waiting() -> int:
    """Send again the documents still queued a while after upload (no broker then)."""
    since = timezone.now() - WAITING
    waiting = Document.objects.filter(
        status=Document.Status.INDEXING, stage=Document.Stage.QUEUED, created_at__lt=since
    ).values_list("pk", flat=True)
    for document_id in waiting:
        send_index(document_id)
    return len(waiting)


def send_stale() -> int:
    """Send an embedding job for each ready document without the current model's vectors."""
    model = embedding.current_model()
    if model is None or not presence.workers_for(model.slug):
        return 0
    stale = list(
        Document.objects.filter(status=Document.Status.READY, pk__in=indexing.lacking(model))
        .exclude(stage=Document.Stage.EMBEDDING)
        .values_list("pk", flat=True)
    )
    for document_id in stale:
        Document.objects.filter(pk=document_id).update(stage=Document.Stage.EMBEDDING)
        send_embed(document_id)
    return len(stale)
