"""A real worker process killed mid-answer, then replaced."""

import json

import pytest
from asgiref.sync import sync_to_async

from tests.conftest import model_of_its_own, wait_for
from tests.streams import TabView, communicator, make_user, session_cookie
from webui.chat import services
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.postgresql]


@pytest.fixture
def long_answers(bundled_model):
    """A model of its own, so that only the worker this test starts serves its queue."""
    return model_of_its_own(bundled_model, "faults", context_size=2048, max_tokens=400)


def test_killed_worker_fails_the_answer_and_a_new_worker_serves_the_next(
    start_worker, long_answers
):
    alice = make_user("alice")
    worker = start_worker(long_answers.slug)
    conversation = services.conversation_start(
        owner=alice, content="Tell me a long story about a dragon.", model=long_answers
    )
    answer = conversation.messages.get(role="assistant")
    wait_for(
        lambda: Message.objects.get(pk=answer.pk).status == "streaming",
        message="the answer to start",
    )
    worker.kill()
    # Housekeeping, started with the first worker, notices the orphan; a new worker serves
    # the next answer.
    start_worker(long_answers.slug)
    failed = wait_for(
        lambda: (m := Message.objects.get(pk=answer.pk)).status == "failed" and m,
        timeout=30,
        message="the answer to be marked failed",
    )
    assert "worker stopped" in failed.error

    long_answers.max_tokens = 32  # the next answer only has to finish
    long_answers.save()
    _, second = services.message_send(conversation=conversation, content="And a short one?")
    done = wait_for(
        lambda: (m := Message.objects.get(pk=second.pk)).status == "done" and m,
        timeout=120,
        message="the next answer",
    )
    assert done.content
    # The killed answer was not generated again by the new worker.
    assert Message.objects.get(pk=answer.pk).status == "failed"


async def test_open_tab_sees_failure_when_no_worker_is_left(start_worker, long_answers):
    alice = await sync_to_async(make_user)("alice")
    worker = await sync_to_async(start_worker)(long_answers.slug)
    conversation = await Conversation.objects.acreate(owner=alice, model=long_answers)
    comm = communicator(
        f"/ws/conversations/{conversation.pk}/", cookie=await sync_to_async(session_cookie)(alice)
    )
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"content": "Tell me a long story about a ship."}))
    tab = TabView()
    tab.apply(await comm.receive_from(timeout=10))
    answer = await Message.objects.aget(conversation=conversation, role="assistant")
    await tab.follow(comm, answer.pk, {"streaming"})
    await sync_to_async(worker.kill)()
    # No worker of any model is left to notice: the open tab's own watch must.
    assert await tab.follow(comm, answer.pk, {"failed"}, timeout=30) == "failed"
    await comm.disconnect()
