"""The periodic catch-up: documents never sent, and documents lacking the current
model's vectors, are sent again; nothing is sent while no worker serves the model."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from webui.documents import tasks
from webui.documents.models import Document, Passage
from webui.registry.models import LLMModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    record = {"index": [], "embed": []}
    monkeypatch.setattr(tasks, "send_index", record["index"].append)
    monkeypatch.setattr(tasks, "send_embed", record["embed"].append)
    return record


def _document(status, stage, *, age=timedelta(0), vector_model=None) -> Document:
    owner = get_user_model().objects.get_or_create(username="cy")[0]
    document = Document.objects.create(
        owner=owner, name="f.txt", stored_as="c" * 32, size=1, sha256="", kind="text",
        status=status, stage=stage,
    )  # fmt: skip
    Document.objects.filter(pk=document.pk).update(created_at=timezone.now() - age)
    Passage.objects.create(
        document=document,
        ordinal=0,
        text="t",
        start=0,
        vector=b"\0" * 4 if vector_model else None,
        embedding_model=vector_model,
    )
    return document


def test_a_document_queued_long_ago_is_sent_again(sent):
    old = _document("indexing", "queued", age=timedelta(minutes=30))
    _document("indexing", "queued")  # just uploaded: its job is on its way
    assert tasks.send_waiting() == 1
    assert sent["index"] == [old.pk]


def test_documents_lacking_the_current_models_vectors_are_embedded_again(sent, monkeypatch):
    current = LLMModel.objects.create(name="E", slug="e", role="embedding", path="/x.gguf")
    older = LLMModel.objects.create(
        name="Old", slug="old", role="embedding", path="/x.gguf", enabled=False
    )
    stale = _document("ready", "done", vector_model=older)
    words_only = _document("ready", "done")
    _document("ready", "done", vector_model=current)
    _document("failed", "done")

    monkeypatch.setattr(tasks.presence, "workers_for", lambda slug: [])
    assert tasks.send_stale() == 0  # no worker: nothing to send yet

    monkeypatch.setattr(tasks.presence, "workers_for", lambda slug: ["a worker"])
    assert tasks.send_stale() == 2
    assert sorted(sent["embed"]) == sorted([stale.pk, words_only.pk])
    assert tasks.send_stale() == 0  # marked as embedding: not sent twice
