"""The generation task: what a worker does with an answer that is, or is not, for it."""

import pytest

from inference.worker import resident, tasks
from inference.worker.resident import Resident
from tests.inference.fakes import CannedModel
from tests.streams import make_user
from webui.chat import dispatch
from webui.chat.models import Conversation, Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent_again(monkeypatch):
    sent = []
    monkeypatch.setattr(dispatch, "enqueue_generation", lambda **task: sent.append(task))
    return sent


def _queued_answer(model) -> Message:
    conversation = Conversation.objects.create(owner=make_user("alice"), title="t", model=model)
    Message.objects.create(conversation=conversation, role="user", content="hi")
    return Message.objects.create(
        conversation=conversation, role="assistant", status="queued", model=model
    )


def _worker(monkeypatch, *, slug: str, state: str = "ready") -> Resident:
    worker = Resident(
        name="unit@test:1",
        model_slug=slug,
        device="CPU",
        state=state,
        model=CannedModel(["Hello", "."]),
    )
    monkeypatch.setattr(resident, "_current", worker)
    return worker


def test_a_worker_writes_an_answer_for_its_model(bundled_model, sent_again, monkeypatch):
    answer = _queued_answer(bundled_model)
    _worker(monkeypatch, slug=bundled_model.slug)
    assert tasks.generate_reply(answer.pk) == "done"
    answer.refresh_from_db()
    assert (answer.status, answer.content, answer.worker) == ("done", "Hello.", "unit@test:1")
    assert sent_again == []


def test_an_answer_for_another_model_goes_back_to_its_queue(bundled_model, sent_again, monkeypatch):
    answer = _queued_answer(bundled_model)
    worker = _worker(monkeypatch, slug="another-model")
    assert tasks.generate_reply(answer.pk) is None
    answer.refresh_from_db()
    assert answer.status == "queued" and answer.worker == ""
    assert [task["queue"] for task in sent_again] == [bundled_model.queue_name]
    assert worker.model.prompts == []  # nothing was generated with the wrong model


def test_a_draining_worker_hands_its_own_models_answer_back(bundled_model, sent_again, monkeypatch):
    answer = _queued_answer(bundled_model)
    _worker(monkeypatch, slug=bundled_model.slug, state="draining")
    assert tasks.generate_reply(answer.pk) is None
    answer.refresh_from_db()
    assert answer.status == "queued"
    assert [task["queue"] for task in sent_again] == [bundled_model.queue_name]
