"""Search one's own conversations: full-text where the database has it, escaped snippets."""

import pytest
from django.db import connection
from django.urls import reverse

from tests.streams import make_user
from webui.chat import search, search_index
from webui.chat.models import Conversation, Message


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


def chat(owner, title, *texts, **fields):
    conversation = Conversation.objects.create(owner=owner, title=title, **fields)
    for i, text in enumerate(texts):
        Message.objects.create(
            conversation=conversation, role="user" if i % 2 == 0 else "assistant", content=text
        )
    return conversation


def found(user, query):
    return [r.conversation.title for r in search.conversation_search(user=user, query=query)]


def test_sqlite_test_database_uses_the_fts5_index(db):
    if connection.vendor == "sqlite":
        assert search_index.is_installed(connection)


def test_postgresql_searches_through_the_gin_indexes_of_words(alice):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite searches its FTS5 tables")
    chat(alice, "Cooking", "How long to boil an <egg>?")
    title_matches, messages = search._matching(["boil", "egg"])
    titles = Conversation.objects.filter(title_matches).values("pk")
    with connection.cursor() as cursor:
        # On a few rows a table scan is cheaper: forbid it, to see that the index fits the
        # query's expression at all (an expression index serves only the same expression).
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query, index in [(messages, "chat_message_words"), (titles, "chat_conversation_words")]:
            sql, params = query.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            assert index in " ".join(row[0] for row in cursor.fetchall())
    assert found(alice, "boil egg") == ["Cooking"]


def test_finds_titles_and_message_text_by_word_prefix(alice):
    chat(alice, "Lighthouse stories", "Tell me about the sea.")
    chat(alice, "Cooking", "How long do I boil an egg?", "About nine minutes for a hard egg.")
    chat(alice, "Other", "Nothing here.")
    assert found(alice, "lighthouse") == ["Lighthouse stories"]
    assert found(alice, "EGG") == ["Cooking"]
    assert found(alice, "boil") == ["Cooking"]
    assert found(alice, "min") == ["Cooking"]  # a prefix of "minutes"
    assert found(alice, "sea tell") == ["Lighthouse stories"]
    assert found(alice, "sea egg") == []
    assert found(alice, '"* OR NOT ( ') == []  # FTS syntax in the query is only text


def test_finds_words_inside_markup_file_names_and_addresses_on_every_database(alice):
    # PostgreSQL's own parser reads these as one tag, file name or address each.
    chat(alice, "Tags", "How long to boil an <egg>?")
    chat(alice, "Files", "Open settings.py first.")
    chat(alice, "Mail", "Write to ops@example.org today.")
    assert found(alice, "egg") == ["Tags"]
    assert found(alice, "py settings") == ["Files"]
    assert found(alice, "example") == ["Mail"]
    assert found(alice, "org ops") == ["Mail"]


def test_index_follows_edits_and_deletions(alice):
    conversation = chat(alice, "Plans", "We meet on Tuesday.")
    message = conversation.messages.get()
    Message.objects.filter(pk=message.pk).update(content="We meet on Friday.")
    assert found(alice, "tuesday") == []
    assert found(alice, "friday") == ["Plans"]
    conversation.title = "Weekend"
    conversation.save()
    assert found(alice, "weekend") == ["Weekend"] and found(alice, "plans") == []
    conversation.delete()
    assert found(alice, "friday") == []


def test_falls_back_to_substrings_without_fts5(alice, monkeypatch):
    chat(alice, "Cooking", "How long do I boil an egg?")
    monkeypatch.setattr(search_index, "is_installed", lambda connection: False)
    assert found(alice, "boil egg") == ["Cooking"]
    assert found(alice, "boil fish") == []


def test_other_users_conversations_never_appear(client, alice, bob):
    chat(bob, "Bob's secret plan", "The secret is in the garden.")
    chat(alice, "API call", "secret", source=Conversation.Source.API)
    assert found(alice, "secret") == []
    client.force_login(alice)
    page = client.get(reverse("chat:search"), {"q": "secret garden"}).content.decode()
    assert 'class="search-result"' not in page
    assert "0 conversations found" in page


def test_snippet_escapes_the_text_and_marks_the_matched_words(alice):
    long_before = "filler " * 40
    chat(alice, "Markup <b>", long_before + 'The <script>alert("x")</script> tag and scripts.')
    [result] = search.conversation_search(user=alice, query="script")
    snippet = str(result.snippet)
    assert snippet.startswith("…")
    assert "<script>" not in snippet
    assert "&lt;<mark>script</mark>&gt;alert(&quot;x&quot;)&lt;/<mark>script</mark>&gt;" in snippet
    assert "<mark>scripts</mark>" in snippet
    assert str(result.title) == "Markup &lt;b&gt;"


def test_highlight_marks_prefixes_of_any_term_case_insensitively():
    text = search.highlight("Eggs & Boiling eggplant, egg", ["egg", "boil"])
    assert str(text) == (
        "<mark>Eggs</mark> &amp; <mark>Boiling</mark> <mark>eggplant</mark>, <mark>egg</mark>"
    )


def test_search_page_lists_results_with_snippets(client, alice):
    conversation = chat(alice, "Cooking", "How long do I boil an egg?")
    chat(alice, "Archived egg talk", "egg", archived=True)
    client.force_login(alice)
    page = client.get(reverse("chat:search"), {"q": "egg"}).content.decode()
    assert f'data-conversation-id="{conversation.pk}"' in page
    assert "How long do I boil an <mark>egg</mark>?" in page
    assert "2 conversations found" in page
    assert 'name="q" value="egg"' in page


def test_search_needs_login(client):
    response = client.get(reverse("chat:search"), {"q": "x"})
    assert response.status_code == 302
