"""Full-text search of passages: a question's words only, never its syntax; bm25 (or
ts_rank) order; the index follows every write."""

import pytest
from django.apps import apps
from django.db import connection
from django.db.models.signals import post_migrate

from tests.webui.documents import search_rows
from webui.documents import search_fulltext, search_index, search_vectors
from webui.documents.models import Document, Passage

HOSTILE = [
    '"',
    '""',
    '"unbalanced zebrafish',
    "NEAR(",
    "NEAR(zebrafish lantern, 2)",
    "*",
    "zebrafish*",
    "^zebrafish",
    "-zebrafish",
    "+",
    "(",
    ")",
    "text:zebrafish",
    "{text}: zebrafish",
    "zebrafish AND OR NOT",
    "AND",
    "OR OR OR",
    "'; DROP TABLE documents_passage; --",
    "%",
    "_",
    "\\",
    "\x00zebrafish",
    "zebrafish\u200b\u202e",
    "🦓 zebrafish",
    "a" * 20000,
    "zebrafish " * 5000,
    " ",
    "",
    "&|!<->:*",
    "zebrafish <-> lantern",
]


@pytest.fixture(autouse=True)
def _fresh_vectors():
    search_vectors.forget()


@pytest.fixture
def alice(db):
    return search_rows.user("alice")


@pytest.fixture
def library(alice):
    """One of alice's documents, attached to her conversation."""
    chat = search_rows.conversation(alice)
    search_rows.document(
        alice,
        "notes.txt",
        [
            "The zebrafish lantern glows in the harbour at night.",
            "Contract renewal happens every March for the office lease.",
            "Lunch is served in the cafeteria from noon.",
            "Zebrafish zebrafish zebrafish: the aquarium keeps many zebrafish.",
        ],
        conversation=chat,
    )
    return chat


def passages(ids_and_scores):
    texts = dict(Passage.objects.values_list("pk", "text"))
    return [texts[pk] for pk, _ in ids_and_scores]


def search(question):
    return search_fulltext.search(question, Document.objects.all(), limit=10)


def test_the_index_exists_on_this_database(db):
    if connection.vendor == "sqlite":
        assert search_index.is_installed(connection)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generation_expression FROM information_schema.columns "
            "WHERE table_name = 'documents_passage' AND column_name = 'search_vector'"
        )
        assert "to_tsvector('english'" in cursor.fetchone()[0]
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'documents_passage_text_tsv'"
        )
        assert "gin (search_vector)" in cursor.fetchone()[0]


@pytest.mark.parametrize("question", HOSTILE)
def test_a_hostile_question_never_raises(library, question):
    found = passages(search(question))
    if "zebrafish" in question.lower():
        assert any("zebrafish" in text.lower() for text in found)


def test_words_are_quoted_and_joined_with_or():
    terms = search_fulltext.terms_of('What does "NEAR(" the contract* say?')
    assert terms == ["near", "contract", "say"]
    assert search_fulltext.fts5_query(terms) == '"near" OR "contract" OR "say"'


def test_a_question_of_function_words_only_keeps_them():
    assert search_fulltext.terms_of("Who is it?") == ["who", "is", "it"]


def test_the_passage_with_the_word_most_often_ranks_first(library):
    found = search("zebrafish")
    assert passages(found)[0].startswith("Zebrafish zebrafish")
    assert found[0][1] > found[1][1] > 0  # higher is better on both databases
    assert len(passages(search("zebrafish lantern"))) == 2


def test_a_question_matches_any_of_its_words_with_stems(library):
    found = passages(search("When is the lease renewed?"))
    assert found[0].startswith("Contract renewal")


def test_the_index_follows_updates_and_deletes(library):
    passage = Passage.objects.get(text__startswith="Lunch")
    passage.text = "Breakfast is served in the canteen from seven."
    passage.save()
    assert passages(search("lunch")) == []
    assert passages(search("canteen")) == [passage.text]
    passage.delete()
    assert passages(search("canteen")) == []


def test_only_the_documents_given_are_searched(library, alice):
    other = search_rows.document(alice, "other.txt", ["A zebrafish of another file."])
    scope = Document.objects.filter(pk=other.pk)
    found = search_fulltext.search("zebrafish", scope, limit=10)
    assert passages(found) == ["A zebrafish of another file."]


def test_migrate_puts_back_the_triggers_a_table_rebuild_dropped(db):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its index through ALTER TABLE")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {search_index.TRIGGERS[0]}")
    assert not search_index.is_installed(connection)
    config = apps.get_app_config("documents")
    post_migrate.send(
        sender=config,
        app_config=config,
        verbosity=0,
        interactive=False,
        using=connection.alias,
        apps=apps,
        plan=[],
    )
    assert search_index.is_installed(connection)


def test_migrate_again_in_a_transaction_with_fresh_rows_leaves_the_index_alone(library):
    # `restore --force` flushes, and so runs post_migrate, in the transaction that wrote
    # rows: PostgreSQL refuses ALTER TABLE on a table with deferred checks pending.
    search_rows.document(search_rows.user("bob"), "late.txt", ["A late zebrafish."])
    assert search_index.install(connection)
    assert search_index.is_installed(connection)
    assert "A late zebrafish." in passages(search("zebrafish"))
