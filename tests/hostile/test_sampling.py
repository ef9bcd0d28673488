"""Bad sampling settings stored on an answer (an import, an old row) fail that answer alone.

Continue hands an answer's stored settings to the worker as they are; none of them may
reach the shared decoder unchecked, fail another user's answer, or leave one streaming.
"""

import pytest

from tests.conftest import model_of_its_own, wait_for
from tests.hostile.tally import tried
from tests.streams import make_user
from webui.chat import message_actions, services, streambuffer
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True), pytest.mark.worker]

ENDED = {"done", "stopped", "failed"}
# What a file or an old row may hold, and the field its answer's reason must name. The
# seeds come with a temperature above 0: only then does the decoder build a sampler.
BAD = [
    ({"temperature": 0.7, "seed": "7"}, "seed"),
    ({"temperature": 0.7, "seed": 7.5}, "seed"),
    ({"temperature": 0.7, "seed": [7]}, "seed"),
    ({"temperature": 0.7, "seed": 2**40}, "seed"),
    ({"stop": [5]}, "stop"),
    ({"stop": [["a"]]}, "stop"),
    ({"stop": [True]}, "stop"),
    ({"stop": [f"w{i}" for i in range(300_000)]}, "stop"),
    ({"temperature": "hot"}, "temperature"),
    ({"max_tokens": [1]}, "max_tokens"),
    (["not", "an", "object"], "sampling"),
]


@pytest.fixture
def shared_model(bundled_model):
    """A model of its own with two slots, so that both users' answers decode together."""
    return model_of_its_own(
        bundled_model, "hostile sampling", max_tokens=400, parallel=2, temperature=0.0
    )


def _cut_answer(owner, model, sampling) -> Message:
    """A conversation whose answer was cut at its length limit, with these settings stored."""
    conversation = Conversation.objects.create(owner=owner, title="Imported", model=model)
    question = Message.objects.create(
        conversation=conversation, role="user", content="Tell me a story."
    )
    return Message.objects.create(
        conversation=conversation,
        role="assistant",
        parent=question,
        model=model,
        status="done",
        finish_reason="length",
        content="Once upon a time",
        completion_tokens=4,
        sampling=sampling,
    )


def test_bad_stored_sampling_fails_that_answer_alone(start_worker, shared_model):
    start_worker(shared_model.slug)
    victim = services.conversation_start(
        owner=make_user("vera"),
        content="Count from 1 to 200, one number per line.",
        model=shared_model,
    ).messages.get(role="assistant")
    wait_for(lambda: streambuffer.read(victim.pk), timeout=120, message="the answer to stream")
    mallory = make_user("mallory")
    bad = [(_cut_answer(mallory, shared_model, sampling), field) for sampling, field in BAD]
    for answer, _ in bad:
        message_actions.message_continue(message=answer)
    tried("input", len(bad))
    victim = wait_for(
        lambda: Message.objects.filter(pk=victim.pk, status__in=ENDED).first(),
        timeout=240,
        message="the other user's answer to end",
    )
    assert (victim.status, victim.error) == ("done", ""), victim.error
    assert victim.content.strip() and victim.completion_tokens > 10
    ids = [answer.pk for answer, _ in bad]
    wait_for(
        lambda: set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) <= ENDED,
        timeout=120,
        message="every answer to end",
    )
    for answer, field in bad:
        answer.refresh_from_db()
        assert answer.status == "failed", (field, answer.status)
        assert f"'{field}'" in answer.error, answer.error
        assert answer.content == "Once upon a time"  # what it had is kept
    assert not Message.objects.filter(status="streaming").exists()
