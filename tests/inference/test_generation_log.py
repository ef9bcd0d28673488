"""Each finished answer logs one line with its figures, and never its text."""

import json
import logging

import pytest

from inference.worker.generation import generate_reply
from tests.inference.fakes import CannedModel
from tests.streams import make_user
from webui.chat.models import Conversation, Message
from webui.core.logformat import ContentFilter, JsonFormatter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def answer(bundled_model):
    conversation = Conversation.objects.create(
        owner=make_user("alice"), title="t", model=bundled_model
    )
    Message.objects.create(conversation=conversation, role="user", content="capital of France?")
    return Message.objects.create(
        conversation=conversation, role="assistant", status="queued", model=bundled_model
    )


def finished_lines(caplog) -> list[str]:
    lines = []
    for record in caplog.records:
        if record.name == "inference.worker.generation" and hasattr(record, "message_id"):
            ContentFilter().filter(record)
            lines.append(JsonFormatter().format(record))
    return lines


def test_a_finished_answer_logs_its_figures_without_text(answer, caplog):
    with caplog.at_level(logging.INFO, logger="inference.worker.generation"):
        generate_reply(answer.pk, model=CannedModel(["Par", "is", "."]), worker_name="w1")
    [line] = finished_lines(caplog)
    entry = json.loads(line)
    assert entry["message_id"] == answer.pk
    assert (entry["model"], entry["status"], entry["worker"]) == ("smollm2", "done", "w1")
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (3, 3)
    assert entry["ttft_ms"] is not None and entry["tokens_per_second"] is not None
    assert "Paris" not in line and "France" not in line


def test_a_failed_answer_logs_its_status(answer, caplog):
    with caplog.at_level(logging.INFO, logger="inference.worker.generation"):
        generate_reply(answer.pk, model=CannedModel(["a", "b"], fail_after=1), worker_name="w")
    [line] = finished_lines(caplog)
    assert json.loads(line)["status"] == "failed"
