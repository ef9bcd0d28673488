"""The title task on a worker: the resident model names the conversation, as background
work; a title that gave way to answers is tried again later."""

import pytest
from celery.exceptions import Retry

from inference.engine.contract import GaveWay
from inference.engine.jobs import BACKGROUND
from inference.worker import resident
from inference.worker.resident import Resident
from inference.worker.titles import write_title
from tests.inference.fakes import CannedModel
from tests.streams import make_user
from webui.chat import dispatch, services
from webui.chat.models import Conversation, Message

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingModel(CannedModel):
    """A canned model that also records the priority each stream asked for."""

    def __init__(self, chunks, *, gives_way: bool = False):
        super().__init__(chunks)
        self.gives_way = gives_way
        self.priorities: list[int] = []

    def stream(self, prompt, sampling, figures, should_stop, **options):
        self.priorities.append(options.get("priority", 0))
        if self.gives_way:
            raise GaveWay("an answer came")
        yield from super().stream(prompt, sampling, figures, should_stop, **options)


@pytest.fixture
def answered(bundled_model, monkeypatch):
    monkeypatch.setattr(dispatch, "enqueue_generation", lambda **task: None)
    conversation = services.conversation_start(
        owner=make_user("alice"), content="How do lighthouses work at night?"
    )
    Message.objects.filter(conversation=conversation, role="assistant").update(
        status="done", content="They shine a lamp."
    )
    return conversation


def _worker(monkeypatch, model, slug) -> Resident:
    worker = Resident(name="unit@test:1", model_slug=slug, device="CPU", state="ready", model=model)
    monkeypatch.setattr(resident, "_current", worker)
    return worker


def test_the_worker_names_the_conversation_as_background_work(answered, bundled_model, monkeypatch):
    model = RecordingModel(['"Lighthouses', " at night", '"\nThe user asks'])
    _worker(monkeypatch, model, bundled_model.slug)
    assert write_title(answered.pk, answered.title) is True
    assert Conversation.objects.get(pk=answered.pk).title == "Lighthouses at night"
    assert model.priorities == [BACKGROUND]
    shown = model.prompts[0][-1]["content"]
    assert "How do lighthouses work at night?" in shown and "They shine a lamp." in shown


def test_a_renamed_conversation_is_not_sent_to_the_model(answered, bundled_model, monkeypatch):
    expected = answered.title
    services.conversation_rename(conversation=answered, title="Night shifts")
    model = RecordingModel(["Lighthouses"])
    _worker(monkeypatch, model, bundled_model.slug)
    assert write_title(answered.pk, expected) is False
    assert model.prompts == [] and Conversation.objects.get(pk=answered.pk).title == "Night shifts"


def test_a_title_that_gave_way_is_tried_again_later(answered, bundled_model, monkeypatch):
    _worker(monkeypatch, RecordingModel([], gives_way=True), bundled_model.slug)
    with pytest.raises(Retry):
        write_title(answered.pk, answered.title)
    assert Conversation.objects.get(pk=answered.pk).title == answered.title


def test_a_worker_of_another_model_leaves_the_title(answered, bundled_model, monkeypatch):
    model = RecordingModel(["Lighthouses"])
    _worker(monkeypatch, model, "another-model")
    assert write_title(answered.pk, answered.title) is False
    assert model.prompts == []
