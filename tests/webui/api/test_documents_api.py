"""Documents through the API: the chat completions extension (collections searched, short
files given whole, long files searched) with the chat's access rules, GET /v1/collections
and /v1/files."""

import json
import urllib.request

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests.streams import make_user
from tests.webui.chat.document_rows import ready_document
from webui.api.document_sources import request_sources
from webui.api.models import ApiKey
from webui.api.params import chat_request
from webui.chat.models import Message
from webui.documents.models import Collection, Document, Passage
from webui.registry import presence
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

pytestmark = pytest.mark.django_db

FACT = "The quarzlek valve opens at exactly 417 kilopascals."


@pytest.fixture
def model(db):
    return LLMModel.objects.create(
        name="Tiny", slug="tiny-docs", path=bundled_model_path(), is_default=True
    )


@pytest.fixture
def served(model):
    """A heartbeat in the real Redis, so the model counts as served (no task is sent)."""
    beat = presence.WorkerBeat(
        name="tiny-docs@test:1",
        host="test",
        model=model.slug,
        state="ready",
        device="CPU",
        active_messages=[],
        seen=presence.now(),
    )
    presence.beat(beat)
    yield
    presence.forget(beat.name)


@pytest.fixture
def people(db):
    team = Group.objects.create(name="team")
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    alice.groups.add(team)
    bob.groups.add(team)
    shared = Collection.objects.create(owner=alice, name="handbook")
    shared.groups.add(team)
    ready_document(alice, "handbook.docx", [FACT], collection=shared)
    return alice, bob, carol, shared


def _headers(user) -> dict:
    _, raw = ApiKey.issue(user=user, name="script")
    return {"Authorization": f"Bearer {raw}"}


def _ask(user, model, **extension):
    body = {"model": model.slug, "messages": [{"role": "user", "content": "quarzlek?"}]}
    return Client().post(
        "/v1/chat/completions",
        json.dumps({**body, **extension}),
        content_type="application/json",
        headers=_headers(user),
    )


@pytest.mark.parametrize(
    ("extension", "param", "message"),
    [
        ({"collections": "all"}, "collections", "'collections' must be a list of up to 20 ids"),
        ({"files": [1.5]}, "files", "'files' must be a list of up to 20 ids"),
        ({"files": [True]}, "files", "'files' must be a list of up to 20 ids"),
    ],
)
def test_the_extension_takes_lists_of_ids(extension, param, message):
    from webui.api.errors import ApiError

    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **extension}
    with pytest.raises(ApiError) as caught:
        chat_request(body)
    assert (caught.value.param, str(caught.value).startswith(message)) == (param, True)


def test_a_collection_not_shared_with_the_caller_is_a_404_naming_it(model, people, served):
    _, _, carol, shared = people
    response = _ask(carol, model, collections=[shared.pk])
    assert response.status_code == 404, response.content
    error = response.json()["error"]
    assert error["message"] == f"The collection {shared.pk} does not exist."
    assert (error["param"], error["code"]) == ("collections", "document_not_found")
    assert not Message.objects.exists()


def test_another_members_file_is_a_404_and_one_being_indexed_a_409(model, people, served):
    alice, bob, _, _ = people
    private = ready_document(alice, "diary.txt", ["Dear diary."])
    response = _ask(bob, model, files=[private.pk])
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"The file {private.pk} does not exist."
    indexing = ready_document(bob, "new.txt", ["New."], whole=True)
    Document.objects.filter(pk=indexing.pk).update(status=Document.Status.INDEXING)
    response = _ask(bob, model, files=[indexing.pk])
    assert (response.status_code, response.json()["error"]["code"]) == (409, "document_not_ready")
    assert not Message.objects.exists()


def test_a_group_member_gets_the_collections_passage_and_a_whole_file(model, people):
    _, bob, _, shared = people
    note = ready_document(bob, "note.txt", ["Bob's own note."], whole=True)
    body = {
        "model": model.slug,
        "messages": [{"role": "user", "content": "When does the quarzlek valve open?"}],
        "collections": [shared.pk],
        "files": [note.pk],
    }
    found = request_sources(user=bob, model=model, request=chat_request(body))
    passages = [Document.objects.get(passages__pk=source.passage_id).name for source in found]
    assert passages == ["note.txt", "handbook.docx"]


def test_a_long_file_named_is_searched_not_given_whole(model, people):
    _, bob, _, _ = people
    filler = [f"Chapter {n} is about the canteen menu." for n in range(8)]
    long = ready_document(bob, "long.pdf", [*filler, FACT], whole=False)
    elsewhere = ready_document(bob, "other.txt", [FACT.replace("quarzlek", "vorbel")])
    body = {
        "model": model.slug,
        "messages": [{"role": "user", "content": "When does the quarzlek valve open?"}],
        "files": [long.pk],
    }
    found = request_sources(user=bob, model=model, request=chat_request(body))
    texts = [Passage.objects.get(pk=source.passage_id).text for source in found]
    # Searched by words (no embedding model here): only the fact's passage shares any,
    # and the other file with the same words is not among those named.
    assert texts == [FACT]
    assert elsewhere.pk not in {p.document_id for p in Passage.objects.filter(text__in=texts)}


def test_collections_lists_what_the_caller_may_use(people):
    alice, bob, carol, shared = people
    Collection.objects.create(owner=alice, name="private")
    listed = Client().get("/v1/collections", headers=_headers(bob)).json()
    assert [(c["id"], c["name"], c["owner"], c["owned"], c["files"]) for c in listed["data"]] == [
        (shared.pk, "handbook", "alice", False, 1)
    ]
    assert Client().get("/v1/collections", headers=_headers(carol)).json()["data"] == []
    assert Client().get("/v1/collections").status_code == 401


def test_a_file_is_uploaded_and_followed_and_only_its_reader_sees_it(people):
    alice, bob, carol, shared = people
    response = Client().post(
        "/v1/files",
        {
            "file": _upload("facts.md", b"# Facts\n\nThe sky is green here.\n"),
            "collection": shared.pk,
        },
        headers=_headers(alice),
    )
    assert response.status_code == 200, response.content
    made = response.json()
    assert (made["object"], made["filename"], made["status"]) == ("file", "facts.md", "indexing")
    assert made["collection"] == shared.pk
    url = f"/v1/files/{made['id']}"
    assert Client().get(url, headers=_headers(bob)).json()["filename"] == "facts.md"
    assert Client().get(url, headers=_headers(carol)).status_code == 404
    foreign = Client().post(
        "/v1/files",
        {"file": _upload("x.txt", b"x\n"), "collection": shared.pk},
        headers=_headers(bob),
    )
    assert foreign.status_code == 404
    assert foreign.json()["error"]["param"] == "collection"


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_answer_through_the_api_is_given_the_file_and_the_collections_passage(
    asgi_server, live_worker, bundled_model
):
    team = Group.objects.create(name="team")
    alice, bob = make_user("alice"), make_user("bob")
    alice.groups.add(team)
    bob.groups.add(team)
    shared = Collection.objects.create(owner=alice, name="handbook")
    shared.groups.add(team)
    filler = [f"Chapter {n} is about the canteen menu." for n in range(8)]
    ready_document(alice, "handbook.docx", [*filler, FACT], collection=shared)
    note = ready_document(bob, "note.txt", ["Bob's own note."], whole=True)
    body = {
        "model": bundled_model.slug,
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "When does the quarzlek valve open?"}],
        "collections": [shared.pk],
        "files": [note.pk],
    }
    request = urllib.request.Request(
        f"{asgi_server}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={**_headers(bob), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        reply = json.loads(response.read())
    assert reply["choices"][0]["finish_reason"] in ("stop", "length")
    answer = Message.objects.get(conversation__owner=bob, role="assistant")
    cited = [
        (c.number, c.passage.document.name, c.passage.text)
        for c in answer.citations.select_related("passage__document").order_by("number")
    ]
    assert cited[:2] == [(1, "note.txt", "Bob's own note."), (2, "handbook.docx", FACT)]
