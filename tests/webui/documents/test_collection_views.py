"""The collections pages: create, upload, share with one's groups, delete; the #name menu;
a collection not shared with a member is a 404 to them."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.streams import make_user
from tests.webui.chat.document_rows import ready_document
from webui.documents.models import Collection, Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db):
    group = Group.objects.create(name="team")
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    alice.groups.add(group)
    bob.groups.add(group)
    return group, alice, bob, carol


def _as(user) -> Client:
    """A browser of its own for each member."""
    client = Client()
    client.force_login(user)
    return client


def test_a_member_creates_a_collection_adds_files_and_shares_it(client, team):
    group, alice, bob, carol = team
    client = _as(alice)
    response = client.post(reverse("documents:collections"), {"name": "  Hand  book "})
    collection = Collection.objects.get(owner=alice)
    assert response.status_code == 302 and collection.name == "Hand book"
    upload = SimpleUploadedFile("rules.md", b"# Rules\n\nBe kind.\n")
    response = client.post(reverse("documents:upload", args=[collection.pk]), {"files": [upload]})
    assert response.status_code == 302
    assert collection.documents.get().name == "rules.md"
    page = client.get(reverse("documents:collection", args=[collection.pk])).content.decode()
    assert 'data-role="attachment" data-status="indexing" data-document="rules.md"' in page
    assert "data-confirm=" in page
    response = client.post(reverse("documents:share", args=[collection.pk]), {"groups": [group.pk]})
    assert response.status_code == 302
    assert list(collection.groups.all()) == [group]
    client = _as(bob)
    menu = client.get(reverse("documents:collections_menu")).json()["collections"]
    assert menu == [{"id": collection.pk, "name": "Hand book", "files": 1, "shared_by": "alice"}]
    client = _as(carol)
    assert client.get(reverse("documents:collections_menu")).json() == {"collections": []}
    assert client.get(reverse("documents:collection", args=[collection.pk])).status_code == 404


def test_only_the_owner_changes_a_collection(client, team):
    group, alice, bob, _ = team
    collection = Collection.objects.create(owner=alice, name="handbook")
    collection.groups.add(group)
    document = ready_document(alice, "rules.txt", ["Rules."], collection=collection)
    client = _as(bob)
    assert client.get(reverse("documents:collection", args=[collection.pk])).status_code == 200
    upload = SimpleUploadedFile("mine.txt", b"Bob's text.\n")
    for url, data in [
        (reverse("documents:upload", args=[collection.pk]), {"files": [upload]}),
        (reverse("documents:share", args=[collection.pk]), {"groups": []}),
        (reverse("documents:delete", args=[collection.pk]), {}),
        (reverse("documents:delete_file", args=[document.pk]), {}),
    ]:
        assert client.post(url, data).status_code == 404, url
    assert Document.objects.filter(pk=document.pk).exists()
    assert list(collection.groups.all()) == [group]


def test_sharing_is_only_with_the_owners_own_groups(client, team):
    _, alice, _, _ = team
    other = Group.objects.create(name="others")
    collection = Collection.objects.create(owner=alice, name="handbook")
    client = _as(alice)
    response = client.post(reverse("documents:share", args=[collection.pk]), {"groups": [other.pk]})
    assert response.status_code == 400
    assert not collection.groups.exists()


def test_deleting_a_file_and_a_collection(client, team):
    _, alice, _, _ = team
    collection = Collection.objects.create(owner=alice, name="handbook")
    first = ready_document(alice, "a.txt", ["A."], collection=collection)
    ready_document(alice, "b.txt", ["B."], collection=collection)
    client = _as(alice)
    client.post(reverse("documents:delete_file", args=[first.pk]))
    assert list(collection.documents.values_list("name", flat=True)) == ["b.txt"]
    response = client.post(reverse("documents:delete", args=[collection.pk]))
    assert response.status_code == 302
    assert not Collection.objects.exists() and not Document.objects.exists()


def test_a_duplicate_name_is_refused_with_the_reason(client, team):
    _, alice, _, _ = team
    Collection.objects.create(owner=alice, name="handbook")
    client = _as(alice)
    response = client.post(reverse("documents:collections"), {"name": "Handbook"})
    assert response.status_code == 400
    assert "You have a collection named Handbook already." in response.content.decode()
