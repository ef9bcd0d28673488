"""Retrieval reads only what the asker may ask here: their own conversation's files and
the collections they may use; checked with unique tokens, by words and (where a test
stores them) vectors."""

import time

import numpy as np
import pytest
from django.contrib.auth.models import Group

from tests.webui.documents import search_rows
from webui.documents import search_vectors
from webui.documents.models import Document
from webui.documents.retrieval import retrieve
from webui.registry.models import LLMModel

SECRET = "quokkaxylophone7"  # a word found in no other passage


@pytest.fixture(autouse=True)
def _fresh_vectors():
    search_vectors.forget()


@pytest.fixture
def legal(db):
    return Group.objects.create(name="legal")


@pytest.fixture
def people(legal):
    return {
        "alice": search_rows.user("alice", legal),
        "bob": search_rows.user("bob"),
        "carol": search_rows.user("carol", legal),
        "dave": search_rows.user("dave"),
    }


def texts(retrieval):
    return [hit.text for hit in retrieval.hits]


def test_another_users_attached_document_is_never_retrieved(people):
    alice, bob = people["alice"], people["bob"]
    bobs_chat = search_rows.conversation(bob)
    search_rows.document(bob, "bob.txt", [f"The vault code is {SECRET}."], conversation=bobs_chat)
    private = search_rows.collection(bob, "Bob's private")
    search_rows.document(bob, "private.txt", [f"Also {SECRET} here."], collection=private)
    alices_chat = search_rows.conversation(alice)
    search_rows.document(
        alice, "alice.txt", ["The vault is in the basement."], conversation=alices_chat
    )

    for conversation in (alices_chat, bobs_chat, None):
        for ids in ((), (private.pk,), (str(private.pk), "x", None)):
            found = retrieve(
                alice, f"vault code {SECRET}", conversation=conversation, collection_ids=ids, k=10
            )
            assert SECRET not in " ".join(texts(found))
    assert texts(retrieve(alice, "vault", conversation=alices_chat)) == [
        "The vault is in the basement."
    ]
    assert SECRET in texts(retrieve(bob, SECRET, conversation=bobs_chat))[0]
    assert SECRET in texts(retrieve(bob, SECRET, collection_ids=[private.pk]))[0]


def test_a_shared_collection_is_retrieved_by_a_group_member_and_not_by_others(people, legal):
    shared = search_rows.collection(people["alice"], "Contracts", legal)
    search_rows.document(
        people["alice"],
        "lease.pdf",
        [f"Lease clause {SECRET}: notice in March."],
        collection=shared,
    )

    assert SECRET in texts(retrieve(people["carol"], SECRET, collection_ids=[shared.pk]))[0]
    assert texts(retrieve(people["dave"], SECRET, collection_ids=[shared.pk])) == []
    assert texts(retrieve(people["bob"], SECRET, collection_ids=[shared.pk])) == []

    # A collection dave linked to his conversation while he could see it, then lost.
    dave_chat = search_rows.conversation(people["dave"], "Leases", shared)
    assert texts(retrieve(people["dave"], SECRET, conversation=dave_chat)) == []
    people["carol"].groups.remove(legal)
    assert texts(retrieve(people["carol"], SECRET, collection_ids=[shared.pk])) == []


def test_a_collection_linked_to_the_conversation_is_searched(people, legal):
    shared = search_rows.collection(people["alice"], "Handbook", legal)
    search_rows.document(
        people["alice"], "handbook.md", [f"Holidays: {SECRET} days."], collection=shared
    )
    carol_chat = search_rows.conversation(people["carol"], "HR", shared)
    assert SECRET in texts(retrieve(people["carol"], SECRET, conversation=carol_chat))[0]


def test_documents_not_ready_are_not_searched(people):
    alice = people["alice"]
    chat = search_rows.conversation(alice)
    for status in (Document.Status.INDEXING, Document.Status.FAILED):
        search_rows.document(
            alice, f"{status}.txt", [f"{SECRET} {status}"], conversation=chat, status=status
        )
    assert retrieve(alice, SECRET, conversation=chat).hits == []


def test_without_vectors_it_searches_by_words_and_says_so(people):
    alice = people["alice"]
    chat = search_rows.conversation(alice)
    search_rows.document(alice, "a.txt", [f"{SECRET} is here."], conversation=chat)
    found = retrieve(alice, SECRET, conversation=chat)
    assert found.mode == "full-text"
    assert "words only" in found.note
    assert found.hits[0].document_name == "a.txt"
    assert found.hits[0].location == "section 1"


def test_with_no_embedding_worker_it_falls_back_to_words_at_once(people):
    """Stored vectors of a model no worker serves: no waiting, no made-up query vector."""
    alice = people["alice"]
    model = LLMModel.objects.create(
        name="Unserved",
        slug="unserved-embeddings",
        path="none.gguf",
        role=LLMModel.Role.EMBEDDING,
        is_default=True,
    )
    chat = search_rows.conversation(alice)
    unit = np.eye(2, 384, dtype=np.float32)
    search_rows.document(
        alice, "v.txt", [f"{SECRET} one.", "two."], conversation=chat, vectors=unit, model=model
    )
    started = time.monotonic()
    found = retrieve(alice, SECRET, conversation=chat)
    assert time.monotonic() - started < 2.5
    assert found.mode == "full-text"
    assert "unserved-embeddings" in found.note
    assert texts(found) == [f"{SECRET} one."]


def test_nothing_to_search_gives_nothing(people):
    alice = people["alice"]
    assert retrieve(alice, SECRET).hits == []
    assert retrieve(alice, "   ", conversation=search_rows.conversation(alice)).hits == []
