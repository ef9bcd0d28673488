"""Admin shows facts about documents, never their text; `up` starts the embedding worker."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from webui.documents.models import Collection, Document, Passage
from webui.registry.bundled import (
    EMBEDDING_SLUG,
    SLUG,
    ensure_bundled_embedding_model,
    ensure_bundled_model,
)

pytestmark = pytest.mark.django_db

SECRET = "The merger closes on the ninth of March."


@pytest.fixture
def document():
    owner = get_user_model().objects.create_user("owen")
    collection = Collection.objects.create(owner=owner, name="Deals")
    collection.groups.add(Group.objects.create(name="board"))
    document = Document.objects.create(
        owner=owner,
        collection=collection,
        name="merger.pdf",
        stored_as="b" * 32,
        size=2048,
        sha256="",
        kind="pdf",
        status="failed",
        error="This PDF is encrypted: Homefire cannot read it without its password.",
    )
    Passage.objects.create(document=document, ordinal=0, text=SECRET, start=0)
    return document


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", password="x"))
    return client


def test_admin_lists_status_and_reason_but_not_the_text(staff_client, document):
    listing = staff_client.get("/admin/documents/document/").content.decode()
    assert "merger.pdf" in listing and "failed" in listing
    page = staff_client.get(f"/admin/documents/document/{document.pk}/change/").content.decode()
    assert "This PDF is encrypted" in page and "2.0\xa0KB" in page
    assert SECRET not in page and "ninth of March" not in page
    assert 'name="name"' not in page  # read-only: no form field to change it


def test_admin_cannot_look_into_the_text_through_the_url(staff_client, document):
    guess = staff_client.get("/admin/documents/document/?passages__text__contains=ninth")
    assert guess.status_code == 400
    search = staff_client.get("/admin/documents/document/?q=ninth").content.decode()
    assert "merger.pdf" not in search


def test_admin_shows_who_a_collection_is_shared_with(staff_client, document):
    page = staff_client.get("/admin/documents/collection/").content.decode()
    assert "Deals" in page and "board" in page


def test_index_again_sends_a_failed_document_back(
    staff_client, document, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        staff_client.post(
            "/admin/documents/document/",
            {"action": "index_again", "_selected_action": [document.pk]},
        )
    document.refresh_from_db()
    assert (document.status, document.stage, document.error) == ("indexing", "queued", "")
    assert len(callbacks) == 1  # the job, sent once committed


def test_up_starts_a_worker_for_the_embedding_model_too():
    from webui.ops.management.commands.up import _default_slugs

    ensure_bundled_model()
    embedder, _ = ensure_bundled_embedding_model()
    assert _default_slugs() == [SLUG, EMBEDDING_SLUG]
    embedder.enabled = False
    embedder.save()
    assert _default_slugs() == [SLUG]
