"""A worker killed with SIGKILL mid-answer: every message sent ends stored or failed, none lost."""

import contextlib

import pytest

from tests.conftest import model_of_its_own, wait_for
from tests.hostile.tally import fault_outcome, tried
from tests.streams import make_user
from webui.chat import services
from webui.chat.models import Message

pytestmark = [
    pytest.mark.hostile,
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.postgresql,
]

ENDED = {"done", "stopped", "failed"}


@pytest.fixture
def fault_model(bundled_model):
    """A model of its own, so that only the workers this test starts serve its queue."""
    return model_of_its_own(
        bundled_model, "hostile faults", context_size=2048, max_tokens=300, parallel=2
    )


def _wait_quietly(predicate, timeout: float) -> None:
    """Wait for predicate; a timeout is counted as lost messages below, not raised here."""
    with contextlib.suppress(AssertionError):
        wait_for(predicate, timeout=timeout)


def _outcome(answer_ids: list[int]) -> dict[str, int]:
    answers = list(Message.objects.filter(pk__in=answer_ids))
    stored = sum(1 for m in answers if m.status in {"done", "stopped"} and m.content)
    failed = sum(1 for m in answers if m.status == "failed" and m.error.strip())
    return {
        "sent": len(answer_ids),
        "stored": stored,
        "failed": failed,
        "lost": len(answer_ids) - stored - failed,
    }


def test_sigkill_mid_answer_loses_no_message(start_worker, fault_model):
    users = [make_user(name) for name in ("kim", "lee", "max")]
    worker = start_worker(fault_model.slug)
    answer_ids = []
    for round_number, prompts in enumerate(
        (
            ["Tell me a long story about a dragon.", "Write a long poem about the sea."],
            ["List every country you know.", "Explain how bread is made, at length."],
        )
    ):
        for user, prompt in zip(users, prompts, strict=False):
            conversation = services.conversation_start(
                owner=user, content=prompt, model=fault_model
            )
            answer_ids.append(conversation.messages.get(role="assistant").pk)
        if round_number == 0:
            wait_for(
                lambda: (
                    Message.objects.filter(pk__in=answer_ids, status="streaming").count()
                    == len(answer_ids)
                ),
                message="both answers to start streaming",
            )
            worker.kill()  # SIGKILL: no chance to clean up
            tried("faults")
            fault_model.max_tokens = 24  # the next round only has to finish
            fault_model.save()
            worker = start_worker(fault_model.slug)
    _wait_quietly(
        lambda: all(
            status in ENDED
            for status in Message.objects.filter(pk__in=answer_ids).values_list("status", flat=True)
        ),
        timeout=180,
    )
    outcome = _outcome(answer_ids)
    fault_outcome(**outcome)
    statuses = list(Message.objects.filter(pk__in=answer_ids).values("pk", "status", "error"))
    assert outcome["lost"] == 0, (outcome, statuses)
    assert outcome["failed"] >= 1, outcome  # the one killed mid-answer
    assert outcome["stored"] >= 2, outcome  # the round sent after the new worker started
    for failed in Message.objects.filter(pk__in=answer_ids, status="failed"):
        assert "worker stopped" in failed.error, failed.error


def test_sigkill_loses_no_answer_waiting_inside_the_worker(start_worker, fault_model):
    """The second answer's task is in the killed worker (or on its way to it): not lost.

    Once the worker is gone, the reaper sees that no queue and no live worker holds the
    task of the still-queued answer and sends it again (test_stranded.py covers each case
    without a race); the claim guard keeps a second copy from answering twice.
    """
    fault_model.parallel = 1
    fault_model.save()
    user = make_user("kim")
    worker = start_worker(fault_model.slug)
    answer_ids = []
    for prompt in ("Tell me a long story about a dragon.", "Write a long poem about the sea."):
        conversation = services.conversation_start(owner=user, content=prompt, model=fault_model)
        answer_ids.append(conversation.messages.get(role="assistant").pk)
    wait_for(
        lambda: Message.objects.filter(pk=answer_ids[0], status="streaming").exists(),
        message="the first answer to start streaming",
    )
    worker.kill()
    tried("faults")
    fault_model.max_tokens = 24  # what is left to generate only has to finish
    fault_model.save()
    start_worker(fault_model.slug)
    _wait_quietly(
        lambda: (
            set(Message.objects.filter(pk__in=answer_ids).values_list("status", flat=True)) <= ENDED
        ),
        timeout=180,
    )
    outcome = _outcome(answer_ids)
    fault_outcome(**outcome)
    assert outcome["lost"] == 0, outcome
    first, second = (Message.objects.get(pk=pk) for pk in answer_ids)
    assert first.status == "failed" and "worker stopped" in first.error
    # Claimed by the first worker before it died (failed), or sent again and answered once.
    assert second.status in {"failed", "done"}, second.status
    assert list(second.conversation.messages.values_list("role", flat=True)) == [
        "user",
        "assistant",
    ]
