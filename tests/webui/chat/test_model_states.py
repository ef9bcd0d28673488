"""Each model's live state, and a queued answer's place in its model's line."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.streams import make_user
from webui.chat import services
from webui.chat.model_states import QueuePlace, enabled_model_states, queue_place
from webui.chat.models import Conversation, Message
from webui.chat.presentation import view_of
from webui.registry import presence
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel


@pytest.fixture
def beats():
    """Heartbeats written to the real Redis, as workers write them; removed afterwards."""
    written = []

    def write(model, state, active=()):
        beat = presence.WorkerBeat(
            name=f"{model.slug}@test:{len(written)}",
            host="test",
            model=model.slug,
            state=state,
            device="CPU",
            active_messages=list(active),
            seen=presence.now(),
        )
        presence.beat(beat)
        written.append(beat.name)

    yield write
    for name in written:
        presence.forget(name)


def _model(slug, **fields):
    return LLMModel.objects.create(
        name=slug.title(), slug=slug, path=bundled_model_path(), **fields
    )


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def sent_tasks(monkeypatch):
    sent = []
    monkeypatch.setattr(
        "webui.chat.dispatch.enqueue_generation", lambda **kw: sent.append(kw), raising=True
    )
    return sent


def _states(user) -> dict:
    return {s.model.slug: (s.state, s.waiting, s.label) for s in enabled_model_states(user)}


def test_each_enabled_model_has_its_state(
    alice, beats, sent_tasks, django_capture_on_commit_callbacks
):
    _model("idle-one")
    ready, busy, full, loading = (
        _model("ready-one", is_default=True),
        _model("busy-one"),
        _model("full-one", parallel=2),
        _model("loading-one"),
    )
    _model("disabled-one", enabled=False)
    beats(ready, "ready")
    beats(busy, "busy", active=[1])
    beats(full, "busy", active=[1, 2])
    beats(loading, "loading")
    conversation = Conversation.objects.create(owner=alice, model=busy)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            services.message_send(conversation=conversation, content="hi")
    assert _states(alice) == {
        "ready-one": ("ready", 0, "ready"),
        "busy-one": ("busy", 2, "busy, 2 waiting"),
        "full-one": ("busy", 0, "busy"),
        "loading-one": ("loading", 0, "loading"),
        "idle-one": ("no-worker", 0, "no worker"),
    }


def test_draining_or_failed_workers_do_not_make_a_model_look_loading(alice, beats):
    drained, failed, mixed = _model("drained-one"), _model("failed-one"), _model("mixed-one")
    beats(drained, "drained")
    beats(failed, presence.FAILED)
    beats(mixed, presence.FAILED)
    beats(mixed, "starting")
    states = _states(alice)
    assert states["drained-one"][0] == states["failed-one"][0] == "no-worker"
    assert states["mixed-one"][0] == "loading"


def test_the_states_endpoint_needs_a_login_and_gives_json(alice, beats):
    model = _model("ready-one", is_default=True)
    beats(model, "ready")
    url = reverse("chat:model_states")
    assert Client().get(url).status_code == 302
    client = Client()
    client.force_login(alice)
    assert client.get(url).json() == {
        "models": [{"slug": "ready-one", "state": "ready", "waiting": 0, "label": "ready"}]
    }


def test_pickers_carry_each_models_state(alice, beats):
    ready = _model("ready-one", is_default=True)
    _model("idle-one")
    beats(ready, "ready")
    client = Client()
    client.force_login(alice)
    home = client.get(reverse("chat:home")).content.decode()
    assert (
        'data-model-slug="ready-one" data-model-name="Ready-One" data-model-state="ready"' in home
    )
    assert 'data-model-state="no-worker"' in home and "Idle-One — no worker" in home
    conversation = Conversation.objects.create(owner=alice, model=ready)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert page.count('data-model-slug="ready-one"') == 2  # the header's badge and the picker


def _finished(model, seconds):
    start = timezone.now() - timedelta(minutes=5)
    owner = make_user(f"past-{Message.objects.count()}")
    conversation = Conversation.objects.create(owner=owner, model=model)
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        status="done",
        model=model,
        started_at=start,
        finished_at=start + timedelta(seconds=seconds),
    )


def test_a_queued_answer_knows_how_many_are_ahead_and_about_how_long(alice, beats):
    model = _model("slow-one", is_default=True, parallel=1)
    beats(model, "busy", active=[99])
    conversation = Conversation.objects.create(owner=alice, model=model)
    queued = [
        Message.objects.create(
            conversation=conversation, role="assistant", status="queued", model=model
        )
        for _ in range(3)
    ]
    assert queue_place(queued[2]) == QueuePlace(ahead=2, seconds=None)
    assert queue_place(queued[2]).text == "2 ahead of you"
    for seconds in (8, 10, 12):
        _finished(model, seconds)
    Message.objects.create(
        conversation=conversation, role="assistant", status="streaming", model=model
    )
    place = queue_place(queued[2])
    # One slot: the streaming answer and the two ahead finish first, 10 s each (the median).
    assert place == QueuePlace(ahead=2, seconds=30)
    assert place.text == "2 ahead of you, about 30 s"
    assert queue_place(queued[0]).text == "next in line, about 10 s"

    html = view_of(queued[2])
    assert html.queue == place
    services.message_stop(message=queued[0])  # stopping takes it out of the line
    assert queue_place(queued[2]).ahead == 1


def test_the_conversation_page_shows_the_place(alice, beats):
    model = _model("slow-one", is_default=True)
    beats(model, "busy", active=[1, 2, 3, 4])
    conversation = Conversation.objects.create(owner=alice, model=model)
    other = Conversation.objects.create(owner=make_user("bob"), model=model)
    Message.objects.create(conversation=other, role="assistant", status="queued", model=model)
    Message.objects.create(conversation=conversation, role="user", content="hi")
    Message.objects.create(
        conversation=conversation, role="assistant", status="queued", model=model
    )
    client = Client()
    client.force_login(alice)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert 'data-queue-position="2" data-queue-ahead="1">1 ahead of you</span>' in page


def test_no_place_is_shown_while_no_worker_serves_the_model(alice):
    model = _model("idle-one", is_default=True)
    conversation = Conversation.objects.create(owner=alice, model=model)
    answer = Message.objects.create(
        conversation=conversation, role="assistant", status="queued", model=model
    )
    view = view_of(answer)
    assert (view.waiting_for_worker, view.queue) == (True, None)
