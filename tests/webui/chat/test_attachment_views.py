"""Attaching files and collections to a conversation through its panel: owner-only,
inert names, a new conversation started by its first file, removal."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.inert import problems_in
from tests.streams import make_user
from tests.webui.chat.document_rows import ready_document
from webui.chat.models import Conversation
from webui.documents.models import Collection, ConversationCollection, Document

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
HOSTILE_NAME = "<img src=x onerror=alert(1)>notes.txt"


@pytest.fixture
def alice(bundled_model):
    return make_user("alice")


@pytest.fixture
def chat(alice, bundled_model):
    return Conversation.objects.create(owner=alice, title="Files", model=bundled_model)


def _text_file(name="notes.txt", text="Plain notes about the zorblat process.\n"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/plain")


def test_attaching_files_stores_them_for_the_conversation_and_draws_them_indexing(
    client, alice, chat
):
    client.force_login(alice)
    url = reverse("chat:attachments", args=[chat.pk])
    response = client.post(url, {"files": [_text_file(), _text_file(HOSTILE_NAME)]}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-role="attachment"') == 2
    assert 'data-status="indexing"' in html
    assert 'hx-trigger="every 2s"' in html  # polled until indexed
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;notes.txt" in html
    names = sorted(Document.objects.filter(conversation=chat).values_list("name", flat=True))
    assert names == sorted(["notes.txt", HOSTILE_NAME])


def test_a_ready_file_says_whether_it_is_given_whole_or_searched_and_polling_stops(
    client, alice, chat
):
    ready_document(alice, "short.txt", ["Short."], conversation=chat, whole=True)
    ready_document(alice, "long.pdf", ["Long."], conversation=chat)
    failed = ready_document(alice, "scan.pdf", ["x"], conversation=chat)
    Document.objects.filter(pk=failed.pk).update(
        status=Document.Status.FAILED, error="This PDF has no text <b>layer</b>."
    )
    client.force_login(alice)
    html = client.get(reverse("chat:attachments", args=[chat.pk]), headers=HTMX)
    html = html.content.decode()
    assert "given whole" in html and "searched" in html
    assert 'data-status="failed"' in html and "no text &lt;b&gt;layer&lt;/b&gt;" in html
    assert "hx-trigger" not in html


def test_another_member_can_neither_see_nor_attach_nor_remove(client, alice, chat):
    document = ready_document(alice, "mine.txt", ["Mine."], conversation=chat)
    client.force_login(make_user("bob"))
    panel = reverse("chat:attachments", args=[chat.pk])
    assert client.get(panel, headers=HTMX).status_code == 404
    assert client.post(panel, {"files": [_text_file()]}, headers=HTMX).status_code == 404
    remove = reverse("chat:attachment_remove", args=[chat.pk, document.pk])
    assert client.post(remove, headers=HTMX).status_code == 404
    assert Document.objects.filter(conversation=chat).count() == 1


def test_removing_a_file_deletes_it(client, alice, chat):
    document = ready_document(alice, "mine.txt", ["Mine."], conversation=chat)
    client.force_login(alice)
    response = client.post(
        reverse("chat:attachment_remove", args=[chat.pk, document.pk]), headers=HTMX
    )
    assert response.status_code == 200
    assert 'data-role="attachment"' not in response.content.decode()
    assert not Document.objects.filter(pk=document.pk).exists()


def test_a_file_of_another_conversation_is_not_removed_through_this_one(client, alice, chat):
    elsewhere = Conversation.objects.create(owner=alice, title="Other")
    document = ready_document(alice, "other.txt", ["Other."], conversation=elsewhere)
    client.force_login(alice)
    url = reverse("chat:attachment_remove", args=[chat.pk, document.pk])
    assert client.post(url, headers=HTMX).status_code == 404
    assert Document.objects.filter(pk=document.pk).exists()


def test_the_first_file_on_the_new_conversation_page_starts_a_conversation(
    client, alice, bundled_model
):
    client.force_login(alice)
    response = client.post(reverse("chat:attach_start"), {"files": [_text_file("plan.md")]})
    assert response.status_code == 201
    chat = Conversation.objects.get(owner=alice)
    assert response.json() == {"location": chat.get_absolute_url()}
    assert chat.title == "plan.md" and chat.model == bundled_model
    assert chat.documents.get().name == "plan.md"


def test_a_new_conversation_is_not_left_behind_when_every_file_is_refused(client, alice):
    client.force_login(alice)
    program = SimpleUploadedFile("notes.txt", b"MZ\x90\x00\x03\x00", content_type="text/plain")
    response = client.post(reverse("chat:attach_start"), {"files": [program]})
    assert response.status_code == 400
    assert response.json()["refused"][0].startswith("notes.txt: ")
    assert not Conversation.objects.exists()


def test_linking_a_collection_needs_the_right_to_read_it(client, alice, chat):
    team = Group.objects.create(name="team")
    bob = make_user("bob")
    bob.groups.add(team)
    alice.groups.add(team)
    shared = Collection.objects.create(owner=bob, name="handbook")
    shared.groups.add(team)
    private = Collection.objects.create(owner=bob, name="diary")
    client.force_login(alice)
    url = reverse("chat:collection_link", args=[chat.pk])
    assert client.post(url, {"collection": private.pk}, headers=HTMX).status_code == 404
    response = client.post(url, {"collection": shared.pk}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-collection="handbook"' in html and "shared by bob" in html
    assert ConversationCollection.objects.filter(conversation=chat).count() == 1
    unlink = reverse("chat:collection_unlink", args=[chat.pk, shared.pk])
    assert 'data-collection="handbook"' not in client.post(unlink, headers=HTMX).content.decode()
    assert not ConversationCollection.objects.exists()


def test_the_conversation_page_has_the_file_input_and_the_panel(client, alice, chat):
    ready_document(alice, HOSTILE_NAME, ["x"], conversation=chat)
    client.force_login(alice)
    html = client.get(chat.get_absolute_url()).content.decode()
    assert 'type="file" name="files" multiple' in html
    assert 'id="attachments"' in html
    panel = html[html.index('id="attachments"') : html.index('id="composer"')]
    assert not [p for p in problems_in(panel) if "img" in p]
