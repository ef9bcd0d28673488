"""Hybrid retrieval with the real embedding worker: the bundled all-MiniLM-L6-v2 embeds
the passages and the question, the same path as /v1/embeddings."""

import pytest

from tests.conftest import WorkerProcess
from tests.environment import RUN_DIR
from tests.webui.documents import search_rows
from tests.webui.documents.search_rows import forget_embedding_model
from webui.documents import retrieval, search_fulltext, search_vectors
from webui.documents.models import Document, Passage
from webui.documents.retrieval import retrieve
from webui.registry import embeddings
from webui.registry.bundled import EMBEDDING_SLUG, ensure_bundled_embedding_model

TOPICS = [
    "The cafeteria serves hot food between twelve and two o'clock every weekday.",
    "Parking permits are renewed at the front desk each January.",
    "The quarterly tax report is filed by the finance department.",
    "Printers on the third floor need a badge to release documents.",
    "Fire drills take place twice a year; assemble in the north car park.",
    "The VPN must be used when working from a café or a hotel.",
    "New laptops are ordered through the IT service portal.",
    "The office is closed on public holidays and between Christmas and New Year.",
    "Bicycles may be stored in the basement storage room.",
    "Expense claims need a receipt and the manager's approval.",
    "Visitors sign in at reception and wear a visitor badge.",
    "The library lends books for up to three weeks.",
]
# Shares no word with the cafeteria passage: only its meaning finds it.
QUESTION = "When can I get lunch at work?"


@pytest.fixture(scope="module")
def embedding_worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        ensure_bundled_embedding_model()
    worker = WorkerProcess(EMBEDDING_SLUG, RUN_DIR / "worker-documents-search-embeddings.log")
    try:
        yield worker.wait_ready()
    finally:
        worker.stop()
        forget_embedding_model(django_db_blocker)


@pytest.fixture
def model(db, embedding_worker, monkeypatch):
    # Two seconds is the budget of a question on a quiet server; a test run on a busy
    # machine waits longer (the fall-back to words is tested in test_search_access).
    monkeypatch.setattr(retrieval, "QUERY_EMBEDDING_TIMEOUT", 30.0)
    search_vectors.forget()
    return ensure_bundled_embedding_model()[0]


def embed(model, texts):
    return embeddings.wait(model, embeddings.send(model, texts, timeout=60), timeout=60).vectors


def test_the_meaning_finds_a_passage_that_shares_no_word_with_the_question(model):
    alice = search_rows.user("alice")
    chat = search_rows.conversation(alice)
    search_rows.document(
        alice, "office.md", TOPICS, conversation=chat, vectors=embed(model, TOPICS), model=model
    )
    by_words = search_fulltext.search(QUESTION, Document.objects.all(), limit=20)
    assert TOPICS[0] not in Passage.objects.filter(pk__in=[pk for pk, _ in by_words]).values_list(
        "text", flat=True
    )
    found = retrieve(alice, QUESTION, conversation=chat, k=3)
    assert found.mode == "hybrid", found.note
    assert found.note == ""
    lunch = [hit for hit in found.hits if hit.text == TOPICS[0]]
    assert lunch, [hit.text for hit in found.hits]
    assert lunch[0].document_name == "office.md"
    assert lunch[0].location == "section 1"


def test_a_passage_of_another_users_document_is_not_retrieved_by_meaning(model):
    alice, bob = search_rows.user("alice"), search_rows.user("bob")
    secret = "Bob's quokkaxylophone7 canteen serves lunch from noon to two."
    bobs = [secret, *TOPICS[1:4]]
    search_rows.document(
        bob,
        "bob.md",
        bobs,
        conversation=search_rows.conversation(bob),
        vectors=embed(model, bobs),
        model=model,
    )
    chat = search_rows.conversation(alice)
    mine = TOPICS[4:]
    search_rows.document(
        alice, "mine.md", mine, conversation=chat, vectors=embed(model, mine), model=model
    )
    found = retrieve(alice, QUESTION + " quokkaxylophone7", conversation=chat, k=len(mine))
    assert found.mode == "hybrid"
    assert {hit.text for hit in found.hits} <= set(mine)


def test_a_document_made_ready_later_is_found_on_the_next_question(model):
    alice = search_rows.user("alice")
    chat = search_rows.conversation(alice)
    rest = TOPICS[1:]
    search_rows.document(
        alice, "rest.md", rest, conversation=chat, vectors=embed(model, rest), model=model
    )
    assert TOPICS[0] not in [hit.text for hit in retrieve(alice, QUESTION, conversation=chat).hits]
    search_rows.document(
        alice,
        "lunch.md",
        TOPICS[:1],
        conversation=chat,
        vectors=embed(model, TOPICS[:1]),
        model=model,
    )
    assert TOPICS[0] in [hit.text for hit in retrieve(alice, QUESTION, conversation=chat, k=3).hits]


# Two sites with the same kinds of facts: the question names its site and shares no
# other word with the answer, so the words find the site's passages and the vectors,
# among those, the one that answers.
SITES = {
    "Kesmoor": [
        "The Kesmoor depot opens its doors at 7:15 on weekdays.",
        "Heating at the Kesmoor depot is maintained by Nordvarme under a 3-year contract.",
        "The spare keys of the Kesmoor depot are kept in a locked cabinet behind the desk.",
    ],
    "Ulvholm": [
        "The Ulvholm clinic opens its doors at 8:30 on weekdays.",
        "Heating at the Ulvholm clinic is maintained by Brightwell under a 5-year contract.",
        "The spare keys of the Ulvholm clinic are kept in a locked cabinet behind the desk.",
    ],
}


def test_the_vectors_order_the_passages_the_words_found(model):
    alice = search_rows.user("alice")
    chat = search_rows.conversation(alice)
    for site, facts in SITES.items():
        search_rows.document(
            alice, f"{site}.md", facts, conversation=chat, vectors=embed(model, facts), model=model
        )
    question = "Which firm services the radiators and the boiler at the Kesmoor depot?"
    vector = embed(model, [question])[0]
    documents = Document.objects.filter(owner=alice)
    ids = list(documents.values_list("pk", flat=True))
    by_words = search_fulltext.search(question, documents, limit=retrieval.WORD_POOL)
    ranked = retrieval.rankings(by_words, vector, model, ids, k=3)
    texts = dict(Passage.objects.values_list("pk", "text"))
    # The words find Kesmoor's passages only (no other word is shared), in no useful order…
    assert {texts[pk] for pk in ranked["words"]} == set(SITES["Kesmoor"])
    # …the vectors put the heating passage first among them, and the fusion keeps it first.
    assert texts[ranked["meaning_among_words"][0]] == SITES["Kesmoor"][1]
    assert texts[retrieval.fuse(ranked)[0][0]] == SITES["Kesmoor"][1]
    found = retrieve(alice, question, conversation=chat, k=1)
    assert [hit.text for hit in found.hits] == [SITES["Kesmoor"][1]]
