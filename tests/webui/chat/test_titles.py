"""Automatic titles on the web side: when one is asked for, how a reply becomes a title,
and the compare-and-set that lets a rename win."""

import pytest

from tests.streams import make_user
from webui.celery import app
from webui.chat import dispatch, fragments, services, titles
from webui.chat.models import Conversation, Message


@pytest.fixture
def sent(monkeypatch):
    """The tasks that would go to Celery: generations, and titles."""
    tasks = {"generate": [], "title": []}
    monkeypatch.setattr(
        dispatch, "enqueue_generation", lambda **task: tasks["generate"].append(task)
    )
    monkeypatch.setattr(app, "send_task", lambda name, **task: tasks["title"].append((name, task)))
    return tasks


@pytest.fixture
def titles_on(settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "AUTO_TITLES": True}


def _answered(owner, question="How do lighthouses work at night?", **conversation_fields):
    """A conversation started with `question`, its first answer done."""
    conversation = services.conversation_start(owner=owner, content=question)
    if conversation_fields:
        Conversation.objects.filter(pk=conversation.pk).update(**conversation_fields)
    answer = conversation.messages.get(role="assistant")
    Message.objects.filter(pk=answer.pk).update(status="done", content="They shine a lamp.")
    answer.refresh_from_db()
    return conversation, answer


@pytest.mark.parametrize(
    ("reply", "title"),
    [
        ("Lighthouses at Night", "Lighthouses at Night"),
        ('Title: "How Lighthouses Work."', "How Lighthouses Work"),
        ("\n\n**Lamps and lenses**\nThe conversation is about...", "Lamps and lenses"),
        ("one two three four five six seven eight nine", "one two three four five six seven eight"),
        (
            "Bees, a vital part of the ecosystem, are resilient",
            "Bees, a vital part of the ecosystem",
        ),
        (
            "Lighthouses: a beacon of safety and navigation at night",
            "Lighthouses: a beacon of safety and navigation",
        ),
        ("# Topic: sea", "sea"),
        ("   \n  ", ""),
        ('""', ""),
    ],
)
def test_a_reply_is_made_a_title_of_one_line_and_at_most_eight_words(reply, title):
    assert titles.cleaned(reply) == title


def test_a_long_word_is_cut_to_the_titles_length():
    assert len(titles.cleaned("x" * 500)) == titles.MAX_CHARS


@pytest.mark.django_db
def test_the_first_answer_asks_its_model_for_a_title(
    sent, titles_on, bundled_model, django_capture_on_commit_callbacks
):
    conversation, answer = _answered(make_user("alice"))
    with django_capture_on_commit_callbacks(execute=True):
        titles.request_after(answer)
    assert sent["title"] == [
        (
            titles.TITLE_TASK,
            {
                "args": [conversation.pk, "How do lighthouses work at night?"],
                "queue": bundled_model.queue_name,
                "expires": titles.TASK_LIFETIME.total_seconds(),
            },
        )
    ]


@pytest.mark.django_db
def test_no_title_is_asked_for_when_titles_are_off(sent, bundled_model, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "AUTO_TITLES": False}
    _, answer = _answered(make_user("alice"))
    titles.request_after(answer)
    assert sent["title"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("fields", [{"title": "My own name"}, {"source": Conversation.Source.API}])
def test_no_title_is_asked_for_a_renamed_or_api_conversation(
    sent, titles_on, bundled_model, fields, django_capture_on_commit_callbacks
):
    _, answer = _answered(make_user("alice"), **fields)
    with django_capture_on_commit_callbacks(execute=True):
        titles.request_after(answer)
    assert sent["title"] == []


@pytest.mark.django_db
def test_no_title_is_asked_for_after_a_later_answer(
    sent, titles_on, bundled_model, django_capture_on_commit_callbacks
):
    conversation, _ = _answered(make_user("alice"))
    _, second = services.message_send(conversation=conversation, content="And by day?")
    Message.objects.filter(pk=second.pk).update(status="done", content="They rest.")
    second.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        titles.request_after(second)
    assert sent["title"] == []


@pytest.mark.django_db
def test_the_title_is_stored_while_the_conversation_keeps_its_first_title(sent, bundled_model):
    conversation, _ = _answered(make_user("alice"))
    expected = conversation.title
    assert titles.title_source(conversation.pk, expected) == (
        "How do lighthouses work at night?",
        "They shine a lamp.",
        bundled_model.slug,
    )
    assert titles.title_write(conversation_id=conversation.pk, expected=expected, text="Lamps")
    conversation.refresh_from_db()
    assert conversation.title == "Lamps"
    # Titled once: a second title (a regenerated first answer) finds it changed.
    assert titles.title_source(conversation.pk, expected) is None
    assert not titles.title_write(conversation_id=conversation.pk, expected=expected, text="B")


@pytest.mark.django_db
def test_a_rename_made_before_the_title_arrives_wins(sent, bundled_model):
    conversation, _ = _answered(make_user("alice"))
    expected = conversation.title
    services.conversation_rename(conversation=conversation, title="Night shifts")
    assert titles.title_source(conversation.pk, expected) is None
    assert not titles.title_write(
        conversation_id=conversation.pk, expected=expected, text="Lighthouses"
    )
    conversation.refresh_from_db()
    assert conversation.title == "Night shifts"


@pytest.mark.django_db
def test_an_empty_reply_leaves_the_title(sent, bundled_model):
    conversation, _ = _answered(make_user("alice"))
    assert not titles.title_write(
        conversation_id=conversation.pk, expected=conversation.title, text=" \n"
    )
    assert Conversation.objects.get(pk=conversation.pk).title == conversation.title


@pytest.mark.django_db
def test_the_title_frame_renders_the_model_text_inert(sent, bundled_model):
    conversation, _ = _answered(make_user("alice"))
    Conversation.objects.filter(pk=conversation.pk).update(title="<img src=x onerror=alert(1)>")
    frame = fragments.title(conversation.pk)
    assert 'id="conversation-title"' in frame and 'hx-swap-oob="true"' in frame
    assert "<img" not in frame and "&lt;img src=x onerror=alert(1)&gt;" in frame
    assert fragments.title(conversation.pk + 1000) is None
