"""Versions of messages: regenerate, edit and resend, continue, delete, switch versions.

The web side only here (tasks that would go to Celery are recorded); the live worker
regenerates and continues for real in test_versions_live.py.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.streams import make_user
from webui.chat import (
    answers,
    context_meter,
    dispatch,
    message_actions,
    selectors,
    services,
    sharing,
    stranded,
    streambuffer,
)
from webui.chat.models import Conversation, Message
from webui.chat.selectors import prompt_history as history_for
from webui.chat.services import MessageRejected

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent_tasks(monkeypatch):
    sent = []

    def record(*, message_id, queue, **_):
        assert Message.objects.get(pk=message_id).status == Message.Status.QUEUED
        sent.append(message_id)

    monkeypatch.setattr(dispatch, "enqueue_generation", record)
    return sent


@pytest.fixture
def alice(db):
    return make_user("alice")


def _answered(message: Message, text: str, **fields) -> Message:
    """Finish a queued answer as a worker would."""
    Message.objects.filter(pk=message.pk).update(
        content=text, status=fields.pop("status", "done"), **fields
    )
    message.refresh_from_db()
    return message


def _shown(conversation) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in selectors.conversation_messages(conversation=conversation)]


def _history(message) -> list[str]:
    return [m["content"] for m in history_for(Message.objects.get(pk=message.pk))]


@pytest.fixture
def two_turns(alice, bundled_model, sent_tasks):
    conversation = services.conversation_start(owner=alice, content="first question")
    q1, a1 = conversation.messages.order_by("id")
    _answered(a1, "first answer")
    q2, a2 = services.message_send(conversation=conversation, content="second question")
    _answered(a2, "second answer")
    return conversation, q1, a1, q2, a2


def test_regenerate_adds_a_version_and_only_the_chosen_one_is_history(two_turns, sent_tasks):
    conversation, q1, a1, q2, a2 = two_turns
    new = message_actions.message_regenerate(message=a2)
    assert sent_tasks[-1] == new.pk
    assert (new.parent_id, new.version_of_id, new.status) == (q2.pk, a2.pk, "queued")
    _answered(new, "second answer, again")

    assert _shown(conversation)[-1] == ("assistant", "second answer, again")
    path = selectors.conversation_messages(conversation=conversation)
    assert path[-1].versions.label == "2/2" and path[-1].versions.previous_id == a2.pk
    assert len(path) == 4

    # A follow-up's history holds the chosen version only.
    q3, a3 = services.message_send(conversation=conversation, content="third")
    assert q3.parent_id == new.pk
    assert _history(a3) == [
        "first question",
        "first answer",
        "second question",
        "second answer, again",
        "third",
    ]

    # Switching back shows the first version, and the branch that followed it.
    message_actions.message_show(message=a2)
    assert _shown(conversation)[-1] == ("assistant", "second answer")
    assert selectors.conversation_messages(conversation=conversation)[-1].versions.label == "1/2"
    message_actions.message_show(message=new)
    assert _shown(conversation)[-2:] == [("user", "third"), ("assistant", "")]


def test_regenerating_a_middle_answer_branches_and_keeps_the_rest_reachable(two_turns):
    conversation, q1, a1, q2, a2 = two_turns
    new = message_actions.message_regenerate(message=a1)
    _answered(new, "first answer, again")
    assert _shown(conversation) == [
        ("user", "first question"),
        ("assistant", "first answer, again"),
    ]
    message_actions.message_show(message=a1)
    assert [c for _, c in _shown(conversation)] == [
        "first question",
        "first answer",
        "second question",
        "second answer",
    ]


def test_regenerating_an_answer_being_written_stops_it(two_turns, sent_tasks):
    conversation, q1, a1, q2, a2 = two_turns
    streaming = message_actions.message_regenerate(message=a2)
    answers.claim(message_id=streaming.pk, worker="w")
    message_actions.message_regenerate(message=streaming)
    assert streambuffer.stop_requested(streaming.pk)
    queued = message_actions.message_regenerate(message=a2)
    message_actions.message_regenerate(message=queued)
    queued.refresh_from_db()
    assert queued.status == "stopped"


def test_edit_keeps_the_earlier_text_and_its_answers_as_a_version(two_turns, sent_tasks):
    conversation, q1, a1, q2, a2 = two_turns
    question, answer = message_actions.message_edit(message=q1, content="first, reworded")
    assert sent_tasks[-1] == answer.pk
    assert (question.parent_id, question.version_of_id) == (None, q1.pk)
    assert answer.parent_id == question.pk
    assert _shown(conversation) == [("user", "first, reworded"), ("assistant", "")]
    assert _history(answer) == ["first, reworded"]
    path = selectors.conversation_messages(conversation=conversation)
    assert path[0].versions.label == "2/2"

    # Nothing the user wrote is lost: the old text, its answer and what followed.
    message_actions.message_show(message=q1)
    assert [c for _, c in _shown(conversation)] == [
        "first question",
        "first answer",
        "second question",
        "second answer",
    ]
    q1.refresh_from_db()
    assert q1.content == "first question"


def test_editing_a_later_question_keeps_the_turns_before_it(two_turns):
    conversation, q1, a1, q2, a2 = two_turns
    question, answer = message_actions.message_edit(message=q2, content="second, reworded")
    assert _history(answer) == ["first question", "first answer", "second, reworded"]
    with pytest.raises(MessageRejected, match="Type a message first"):
        message_actions.message_edit(message=question, content="   ")
    with pytest.raises(MessageRejected, match="Only your own messages"):
        message_actions.message_edit(message=a1, content="rewritten answer")


def test_continue_requeues_the_same_answer_only_when_it_was_cut(two_turns, sent_tasks):
    conversation, q1, a1, q2, a2 = two_turns
    with pytest.raises(MessageRejected, match="cut at its length limit"):
        message_actions.message_continue(message=a2)
    _answered(a2, "a story that goes", finish_reason="length", completion_tokens=5)
    message_actions.message_continue(message=a2)
    assert sent_tasks[-1] == a2.pk
    a2.refresh_from_db()
    assert (a2.status, a2.content, a2.finish_reason) == ("queued", "a story that goes", "")
    assert _history(a2) == ["first question", "first answer", "second question"]
    with pytest.raises(MessageRejected):
        message_actions.message_continue(message=a2)  # already on its way


def test_continuing_an_old_answer_starts_its_queue_time_again(two_turns, sent_tasks):
    conversation, q1, a1, q2, a2 = two_turns
    two_days_ago = timezone.now() - timedelta(days=2)
    Message.objects.filter(pk=a2.pk).update(created_at=two_days_ago, queued_at=two_days_ago)
    _answered(a2, "a story that goes", finish_reason="length", completion_tokens=5)

    message_actions.message_continue(message=a2)

    # Not taken for an answer that waited past its task's lifetime.
    assert stranded.fail_expired(timezone.now()) == []
    a2.refresh_from_db()
    assert a2.status == "queued" and timezone.now() - a2.queued_at < timedelta(minutes=1)


def test_delete_a_lone_message_keeps_what_followed(two_turns):
    conversation, q1, a1, q2, a2 = two_turns
    message_actions.message_delete(message=a1)
    assert [c for _, c in _shown(conversation)] == [
        "first question",
        "second question",
        "second answer",
    ]
    assert _history(a2) == ["first question", "second question"]
    message_actions.message_delete(message=q1)
    assert [c for _, c in _shown(conversation)] == ["second question", "second answer"]
    assert not Message.objects.filter(pk__in=[q1.pk, a1.pk]).exists()


def test_delete_a_version_takes_its_branch_and_shows_a_neighbour(two_turns):
    conversation, q1, a1, q2, a2 = two_turns
    question, answer = message_actions.message_edit(message=q1, content="reworded")
    _answered(answer, "answer to reworded")
    message_actions.message_show(message=q1)
    message_actions.message_delete(message=q1)  # the first version, with its branch
    assert _shown(conversation) == [("user", "reworded"), ("assistant", "answer to reworded")]
    assert not Message.objects.filter(pk__in=[q1.pk, a1.pk, q2.pk, a2.pk]).exists()
    path = selectors.conversation_messages(conversation=conversation)
    assert path[0].versions.count == 1
    question.refresh_from_db()
    assert question.version_of_id is None


def test_delete_stops_an_answer_being_written(two_turns):
    conversation, q1, a1, q2, a2 = two_turns
    q3, a3 = services.message_send(conversation=conversation, content="third")
    answers.claim(message_id=a3.pk, worker="w")
    message_actions.message_delete(message=a3)
    assert streambuffer.stop_requested(a3.pk)
    assert not Message.objects.filter(pk=a3.pk).exists()


def test_messages_stored_before_versions_read_as_before_and_can_branch(
    alice, bundled_model, sent_tasks
):
    """Rows with no parent (older rows, the API, imports) follow the row before them."""
    conversation = Conversation.objects.create(owner=alice, title="t", model=bundled_model)
    rows = [
        Message.objects.create(conversation=conversation, role=role, content=text)
        for role, text in [("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")]
    ]
    assert [c for _, c in _shown(conversation)] == ["q1", "a1", "q2", "a2"]
    assert _history(rows[3]) == ["q1", "a1", "q2"]
    new = message_actions.message_regenerate(message=rows[1])
    assert _shown(conversation) == [("user", "q1"), ("assistant", "")]
    message_actions.message_show(message=rows[1])
    assert [c for _, c in _shown(conversation)] == ["q1", "a1", "q2", "a2"]
    assert Message.objects.get(pk=rows[2].pk).parent_id == rows[1].pk
    assert new.parent_id == rows[0].pk


def test_only_answers_regenerate(two_turns):
    conversation, q1, a1, q2, a2 = two_turns
    with pytest.raises(MessageRejected, match="Only an answer"):
        message_actions.message_regenerate(message=q1)


def test_page_shows_the_controls_and_versions(client, two_turns, alice):
    conversation, q1, a1, q2, a2 = two_turns
    message_actions.message_regenerate(message=a1)
    message_actions.message_show(message=a1)
    client.force_login(alice)
    body = client.get(conversation.get_absolute_url()).content.decode()
    assert 'data-version="1/2"' in body
    assert 'aria-label="Previous version" disabled' in body
    assert 'aria-label="Next version"' in body
    for text in ("Regenerate", "Edit", "Delete", 'data-copy="answer"', 'name="content"'):
        assert text in body
    assert "Continue</button>" not in body  # no answer was cut


def test_message_delete_page_is_owner_only_and_needs_csrf(two_turns, alice):
    from django.test import Client

    conversation, q1, a1, q2, a2 = two_turns
    url = reverse("chat:message_delete", args=[a2.pk])
    bob = Client()
    bob.force_login(make_user("bob"))
    assert bob.get(url).status_code == 404
    assert bob.post(url).status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    page = strict.get(url)
    assert page.status_code == 200 and "Delete this message?" in page.content.decode()
    assert strict.post(url).status_code == 403
    assert Message.objects.filter(pk=a2.pk).exists()
    token = page.cookies["csrftoken"].value
    response = strict.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == conversation.get_absolute_url()
    assert not Message.objects.filter(pk=a2.pk).exists()


def test_export_and_import_keep_the_versions(two_turns, alice):
    from webui.chat import transfer

    conversation, q1, a1, q2, a2 = two_turns
    question, answer = message_actions.message_edit(message=q1, content="reworded")
    _answered(answer, "answer to reworded")
    again = message_actions.message_regenerate(message=answer)
    _answered(again, "answer to reworded, again")
    message_actions.message_show(message=answer)
    before = _shown(conversation)

    exported = selectors.conversations_for_export(user=alice, id=conversation.pk)
    markdown = transfer.export_markdown(exported)
    assert "answer to reworded\n" in markdown and "first answer" not in markdown
    [copy] = transfer.conversations_import(owner=alice, raw=transfer.export_json(exported).encode())
    assert _shown(copy) == before
    path = selectors.conversation_messages(conversation=copy)
    assert [m.versions.label for m in path] == ["2/2", "1/2"]
    message_actions.message_show(message=copy.messages.get(content="first question"))
    assert [c for _, c in _shown(copy)] == [
        "first question",
        "first answer",
        "second question",
        "second answer",
    ]


def test_import_refuses_links_that_point_forward(alice, bundled_model):
    import json

    from webui.chat import transfer

    document = {
        "format": transfer.FORMAT,
        "version": transfer.VERSION,
        "conversations": [
            {
                "title": "t",
                "messages": [
                    {"role": "user", "content": "a", "status": "done", "parent": 1},
                    {"role": "assistant", "content": "b", "status": "done"},
                ],
            }
        ],
    }
    with pytest.raises(transfer.ImportRejected, match="parent that is not the position"):
        transfer.conversations_import(owner=alice, raw=json.dumps(document).encode())
    assert not Conversation.objects.filter(owner=alice).exists()


def test_shared_view_and_context_meter_follow_only_the_shown_versions(two_turns):
    conversation, q1, a1, q2, a2 = two_turns
    Message.objects.filter(pk=a2.pk).update(prompt_tokens=900, completion_tokens=100)
    new = _answered(message_actions.message_regenerate(message=a2), "a shorter second answer")
    Message.objects.filter(pk=new.pk).update(prompt_tokens=40, completion_tokens=5)

    shared = sharing.shared_messages(conversation=conversation)
    assert [m.content for m in shared] == [
        "first question",
        "first answer",
        "second question",
        "a shorter second answer",
    ]
    # The meter counts the prompt of the version shown, not the larger hidden one.
    assert context_meter.context_use(conversation).used == 45

    message_actions.message_show(message=Message.objects.get(pk=a2.pk))
    assert sharing.shared_messages(conversation=conversation)[-1].content == "second answer"
    assert context_meter.context_use(conversation).used == 1000
