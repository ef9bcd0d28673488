"""Indexing for real: the housekeeping process serves the documents queue, a worker of the
bundled embedding model (all-MiniLM-L6-v2) makes the vectors."""

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from tests.conftest import HousekeepingProcess, WorkerProcess, wait_for
from tests.environment import RUN_DIR
from tests.webui.documents import files
from tests.webui.documents.search_rows import forget_embedding_model
from webui.chat.models import Conversation
from webui.documents import embedding, indexing, services, storage
from webui.documents.chunking import windows
from webui.documents.models import Document, Passage
from webui.registry.bundled import EMBEDDING_SLUG, ensure_bundled_embedding_model
from webui.registry.models import LLMModel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def indexer(django_db_setup, django_db_blocker):
    """Housekeeping (the documents queue) and a worker of the bundled embedding model."""
    with django_db_blocker.unblock():
        ensure_bundled_embedding_model()
    housekeeping = HousekeepingProcess(RUN_DIR / "housekeeping-documents.log")
    worker = WorkerProcess(EMBEDDING_SLUG, RUN_DIR / "worker-documents-embeddings.log")
    try:
        yield worker.wait_ready(timeout=180), housekeeping
    finally:
        worker.stop()
        housekeeping.stop()
        forget_embedding_model(django_db_blocker)


@pytest.fixture
def model(indexer):
    """The bundled embedding model, registered again (a transactional test empties it)."""
    return ensure_bundled_embedding_model()[0]


@pytest.fixture
def owner():
    return get_user_model().objects.create_user("ines")


def _settled(document: Document, indexer, timeout: float = 240) -> Document:
    def done():
        fresh = Document.objects.get(pk=document.pk)
        return fresh if fresh.status != Document.Status.INDEXING else None

    try:
        return wait_for(done, timeout=timeout, interval=0.2, message="the document to be indexed")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; housekeeping: {indexer[1].tail()}") from None


def _upload(owner, name: str, data: bytes, **where) -> Document:
    return services.add_document(owner, SimpleUploadedFile(name, data), **where)


def test_a_docx_is_indexed_with_vectors_and_sections(indexer, model, owner):
    data = files.docx_file(
        ("h1", "Onboarding"),
        ("p", "New staff collect their badge from the front desk."),
        ("h1", "Parking"),
        ("p", "The visitor parking code is ZEBRA-7731."),
    )
    conversation = Conversation.objects.create(owner=owner)
    document = _settled(_upload(owner, "handbook.docx", data, conversation=conversation), indexer)

    assert (document.status, document.stage, document.error, document.note) == (
        "ready",
        "done",
        "",
        "",
    )
    assert document.embedding_model == model and document.indexed_at is not None
    assert document.whole and 0 < document.text_tokens < 100
    passages = list(document.passages.all())
    assert [p.location for p in passages] == ["section Onboarding", "section Parking"]
    assert (document.done, document.total) == (2, 2)
    vectors = np.stack([embedding.from_bytes(p.vector) for p in passages])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert {p.embedding_model_id for p in passages} == {model.pk}


def test_a_long_pdf_is_embedded_in_batches_with_its_pages(indexer, model, owner):
    model.parallel = 4  # four passages a request: this file takes several
    model.save()
    pages = [files.prose(300, f"page{n}marker") for n in range(1, 7)]
    document = _settled(_upload(owner, "manual.pdf", files.pdf(*pages)), indexer)

    assert (document.status, document.note) == ("ready", ""), document.error
    assert document.total > 2 * model.parallel and document.done == document.total
    assert not document.whole
    assert Passage.objects.filter(document=document, vector__isnull=True).count() == 0
    # One vector per window of whole sentences (chunking.windows), each of unit length.
    for passage in document.passages.all():
        assert passage.vectors == len(windows(passage.text)) > 1
        rows = embedding.from_bytes(passage.vector).reshape(passage.vectors, 384)
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)
    page_of = dict(document.passages.values_list("ordinal", "page"))
    assert set(page_of.values()) == set(range(1, 7))
    assert document.passages.get(ordinal=0).location == "page 1"


def test_an_unreadable_file_fails_with_its_reason_and_leaves_nothing(indexer, model, owner):
    document = _settled(_upload(owner, "locked.pdf", files.pdf("x", password="pw")), indexer)
    assert document.status == "failed"
    assert document.error.startswith("This PDF is encrypted")
    assert not Passage.objects.filter(document=document).exists()


def test_without_an_answering_worker_a_document_is_searched_by_words_only(indexer, model, owner):
    # A second embedding model, the default now, that no worker serves.
    LLMModel.objects.create(
        name="Unserved", slug="unserved-embedder", role="embedding", path=model.path,
        is_default=True,
    )  # fmt: skip
    document = _settled(
        _upload(owner, "notes.md", b"# Notes\nThe wifi password is hidden.\n"), indexer
    )

    assert document.status == "ready"
    assert document.note.startswith("Searched by its words only")
    assert "unserved-embedder" in document.note
    assert document.embedding_model is None
    assert not Passage.objects.filter(document=document, vector__isnull=False).exists()
    assert Passage.objects.filter(document=document).exists()


def test_with_no_embedding_model_enabled_a_document_says_so(indexer, model, owner):
    LLMModel.objects.filter(pk=model.pk).update(enabled=False)
    document = _settled(_upload(owner, "a.txt", b"Plain words only."), indexer)
    assert (document.status, document.note) == ("ready", indexing.NO_MODEL)
    assert not Passage.objects.filter(document=document, vector__isnull=False).exists()


def test_a_new_embedding_model_gets_vectors_made_again(indexer, model, owner):
    document = _settled(
        _upload(owner, "a.md", b"# Tea\nGreen tea is brewed at 80 degrees.\n"), indexer
    )
    assert document.embedding_model == model
    second = LLMModel.objects.create(
        name="MiniLM again", slug="minilm-again", role="embedding", path=model.path, enabled=False
    )
    worker = WorkerProcess(second.slug, RUN_DIR / "worker-documents-second.log")
    worker.wait_ready(timeout=180)
    try:
        # The admin makes it the model documents use: the change sends the catch-up job.
        LLMModel.objects.filter(pk=model.pk).update(enabled=False)
        second.enabled = True
        second.save()
        wait_for(
            lambda: Document.objects.get(pk=document.pk).embedding_model_id == second.pk,
            timeout=240,
            message="the vectors of the new model",
        )
    finally:
        worker.stop()
    assert set(document.passages.values_list("embedding_model", flat=True)) == {second.pk}


def test_reindex_documents_reads_everything_again(indexer, model, owner, capsys):
    document = _settled(_upload(owner, "b.txt", b"Bread needs flour and water."), indexer)
    Passage.objects.filter(document=document).update(text="tampered", vector=None)
    call_command("reindex_documents", "--all")
    document.refresh_from_db()
    assert document.status == "ready" and document.embedding_model == model
    assert list(document.passages.values_list("text", flat=True)) == [
        "Bread needs flour and water."
    ]
    assert "1/1] b.txt: ready" in capsys.readouterr().out


def test_deleting_a_document_while_it_is_indexed_leaves_nothing(indexer, model, owner):
    model.parallel = 2
    model.save()
    pages = [files.prose(300, f"q{n}x") for n in range(1, 6)]
    document = _upload(owner, "gone.pdf", files.pdf(*pages))
    wait_for(
        lambda: (
            Document.objects.filter(pk=document.pk, stage="embedding").exists()
            or not Document.objects.filter(pk=document.pk, status="indexing").exists()
        ),
        timeout=240,
        message="embedding to begin",
    )
    services.delete_document(owner, document.pk)
    wait_for(lambda: not storage.path_of(document.stored_as).exists(), message="the file to go")
    assert not Passage.objects.filter(document_id=document.pk).exists()
