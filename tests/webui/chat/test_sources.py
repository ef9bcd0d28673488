"""Documents in the chat's prompts: which passages an answer is given (whole short files,
searched long ones and collections), its citations, its prompt and the context meter."""

import pytest
from django.contrib.auth.models import Group

from tests.streams import make_user
from tests.webui.chat.document_rows import ready_document
from webui.chat import message_actions, selectors, services, sources
from webui.chat.context_meter import context_use
from webui.chat.models import Conversation
from webui.documents.models import Citation, Collection, ConversationCollection

pytestmark = pytest.mark.django_db

FACT = "The quarzlek valve opens at exactly 417 kilopascals."


@pytest.fixture
def alice(bundled_model):
    return make_user("alice")


@pytest.fixture
def chat(alice, bundled_model):
    return Conversation.objects.create(owner=alice, title="Valves", model=bundled_model)


def _cited(answer) -> list[tuple[int, str, str]]:
    return [
        (c.number, c.passage.document.name, c.passage.text)
        for c in Citation.objects.filter(message=answer).select_related("passage__document")
    ]


def test_a_conversation_without_documents_costs_two_queries_and_cites_nothing(
    chat, django_assert_num_queries
):
    with django_assert_num_queries(2):
        found = sources.gather(conversation=chat, question="What opens the valve?")
    assert found == []
    _, answer = services.message_send(conversation=chat, content="What opens the valve?")
    assert not Citation.objects.filter(message=answer).exists()
    assert "Sources" not in selectors.prompt_history(answer)[0]["content"]


def test_a_short_file_is_given_whole_in_order_and_numbered_in_the_prompt(alice, chat):
    ready_document(
        alice, "valves.txt", ["Intro about valves.", FACT], conversation=chat, whole=True
    )
    _, answer = services.message_send(conversation=chat, content="Tell me a joke")
    assert _cited(answer) == [
        (1, "valves.txt", "Intro about valves."),
        (2, "valves.txt", FACT),
    ]
    system = selectors.prompt_history(answer)[0]
    assert system["role"] == "system"
    assert "cite each source you use by its number" in system["content"]
    assert f"[2] valves.txt, page 2: {FACT}" in system["content"]


def test_a_long_file_is_searched_and_the_passage_that_answers_is_cited(alice, chat):
    filler = [f"Chapter {n} talks about pumps and pipes, nothing else." for n in range(12)]
    ready_document(alice, "manual.pdf", [*filler, FACT], conversation=chat)
    _, answer = services.message_send(
        conversation=chat, content="When does the quarzlek valve open?"
    )
    cited = _cited(answer)
    assert cited[0] == (1, "manual.pdf", FACT)
    assert len(cited) <= sources.SEARCHED


def test_another_members_document_is_never_cited(alice, chat, bundled_model):
    bob = make_user("bob")
    other = Conversation.objects.create(owner=bob, title="Bob's", model=bundled_model)
    ready_document(bob, "secret.txt", [FACT], conversation=other)
    ready_document(alice, "mine.txt", ["Alice's notes on gardening."], conversation=chat)
    _, answer = services.message_send(conversation=chat, content="quarzlek valve kilopascals")
    assert all(name == "mine.txt" for _, name, _ in _cited(answer))


def test_a_collection_shared_with_a_group_answers_its_members_only(alice, bundled_model):
    team = Group.objects.create(name="team")
    bob, carol = make_user("bob"), make_user("carol")
    alice.groups.add(team)
    bob.groups.add(team)
    shared = Collection.objects.create(owner=alice, name="handbook")
    shared.groups.add(team)
    ready_document(alice, "handbook.docx", [FACT], collection=shared)
    for member, expected in ((bob, ["handbook.docx"]), (carol, [])):
        chat = Conversation.objects.create(owner=member, title="Q", model=bundled_model)
        # Carol's link is refused by the views; a link made anyway must still find nothing.
        ConversationCollection.objects.create(conversation=chat, collection=shared)
        _, answer = services.message_send(conversation=chat, content="quarzlek valve")
        assert [name for _, name, _ in _cited(answer)] == expected


def test_regenerating_and_editing_cite_again(alice, chat):
    ready_document(alice, "valves.txt", [FACT], conversation=chat, whole=True)
    question, answer = services.message_send(conversation=chat, content="The valve?")
    again = message_actions.message_regenerate(message=answer)
    assert _cited(again) == [(1, "valves.txt", FACT)]
    _, edited = message_actions.message_edit(message=question, content="And now?")
    assert _cited(edited) == [(1, "valves.txt", FACT)]


def test_whole_files_past_half_the_context_are_searched_instead(alice, chat, bundled_model):
    big = ready_document(alice, "big.txt", ["word " * 50, FACT], conversation=chat, whole=True)
    big.text_tokens = bundled_model.context_size  # more than half of it
    big.save()
    _, answer = services.message_send(conversation=chat, content="Tell me a joke")
    assert _cited(answer) == []  # searched: nothing matches the question's words


def test_the_context_meter_counts_the_passages(alice, chat):
    ready_document(alice, "valves.txt", [FACT * 20], conversation=chat, whole=True)
    services.message_send(conversation=chat, content="Hi")
    use = context_use(chat)
    assert use.passages == 1
    assert use.used >= len(FACT * 20) // 4


def test_a_failing_search_leaves_the_question_answered_without_sources(alice, chat, monkeypatch):
    ready_document(alice, "manual.pdf", [FACT], conversation=chat)

    def broken(*args, **kwargs):
        raise RuntimeError("search index gone")

    monkeypatch.setattr(sources.retrieval, "retrieve", broken)
    question, answer = services.message_send(conversation=chat, content="quarzlek")
    assert question.pk and answer.pk
    assert _cited(answer) == []


def test_a_file_deleted_between_search_and_storage_is_left_out_of_the_citations(alice, chat):
    gone = ready_document(alice, "gone.txt", ["Soon deleted."], conversation=chat, whole=True)
    kept = ready_document(alice, "kept.txt", [FACT], conversation=chat, whole=True)
    found = sources.gather(conversation=chat, question="?", context_size=2048)
    gone.delete()
    question, answer = services.message_send(conversation=chat, content="Hi")
    Citation.objects.filter(message=answer).delete()
    sources.cite(answer=answer, sources=found)
    assert _cited(answer) == [(1, kept.name, FACT)]
