"""An answer that takes longer than the broker's visibility timeout is generated once.

Celery acknowledges a generation task only when it ends (acks_late). Kombu's Redis
transport keeps a received task in its `unacked` hash, and a worker's periodic sweep
hands out again every task left there longer than the visibility timeout, even one that
is still running. Here the worker runs with a timeout of a few seconds, so its own sweep
hands the task of a long answer out again while the answer streams, and the worker's
second thread receives the copy: the copy must be acknowledged without generating
anything, the answer must stream and be stored once, whole, and the worker must go on
counting the answer as in progress (its model is never unloaded under an answer).
"""

import asyncio
import json
import re
import socket

import pytest

from inference.worker.resident import Resident
from tests.conftest import model_of_its_own
from tests.hostile.live import ENDED, Tab
from tests.hostile.tally import fault_outcome, outcome_of, tried
from tests.streams import make_user, session_cookie
from webui.chat import stranded, streambuffer
from webui.chat.models import Conversation, Message
from webui.registry import presence

pytestmark = [
    pytest.mark.hostile,
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.postgresql,
]

VISIBILITY_TIMEOUT = 2  # seconds; the worker then sweeps for such tasks every second
COPY_DROPPED = re.compile(r"answer (\d+): its task was handed out again")


# The answer must outlast the timeout by many seconds, every time: a template that gives
# the model the bare text, and greedy decoding, make it go on counting to max_tokens.
COUNTING_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
COUNTING = ", ".join(str(n) for n in range(1, 31)) + ","


@pytest.fixture
def long_model(bundled_model):
    """A model of its own, one answer at a time, that writes for many seconds."""
    return model_of_its_own(
        bundled_model,
        "visibility",
        context_size=4096,
        max_tokens=800,
        parallel=1,
        chat_template=COUNTING_TEMPLATE,
        temperature=0.0,
    )


def _copies_dropped(log_text: str, answer_id: int) -> int:
    return sum(1 for m in COPY_DROPPED.finditer(log_text) if int(m[1]) == answer_id)


def _unacked_answer_ids() -> list[int]:
    """The answers whose generation task Kombu still holds as received, not acknowledged."""
    ids = []
    for raw in streambuffer.client().hvals("unacked"):
        payload = json.loads(raw)[0]
        if (message_id := stranded._message_id_of(json.dumps(payload))) is not None:
            ids.append(message_id)
    return ids


def _beat_of(worker_name: str) -> presence.WorkerBeat | None:
    return next((b for b in presence.live_workers() if b.name == worker_name), None)


async def _scenario(base, cookie, conversation_id, worker, worker_name, long_model):
    tab = Tab(base, cookie, conversation_id)
    await tab.connect()
    answer = await tab.send(COUNTING)
    await tab.follow(answer, {"streaming"} | ENDED, timeout=300)
    started = await asyncio.to_thread(
        lambda: Message.objects.values("started_at", "worker").get(pk=answer)
    )
    # Follow the answer to its end; once the worker has dropped the copy of its task,
    # look at the heartbeat while the answer still streams.
    beat_while_streaming = None
    while tab.view.status[answer] not in ENDED:
        await tab.receive(timeout=300)
        if beat_while_streaming is None and _copies_dropped(worker.log_path.read_text(), answer):
            await asyncio.sleep(0.6)  # the copy has ended; the worker beats every 0.5 s
            beat = await asyncio.to_thread(_beat_of, worker_name)
            still = await asyncio.to_thread(
                lambda: Message.objects.get(pk=answer).status == "streaming"
            )
            if still:
                beat_while_streaming = beat
    # The next message works, on the same worker.
    long_model.max_tokens = 16
    await asyncio.to_thread(long_model.save)
    second = await tab.send("And say hello.")
    second_status = await tab.follow(second, ENDED, timeout=300)
    await tab.close()
    return tab, answer, started, beat_while_streaming, second, second_status


def test_answer_longer_than_the_visibility_timeout_is_generated_once(
    asgi_server, start_worker, long_model, monkeypatch
):
    # The worker starts with these (child_env copies this process's environment).
    monkeypatch.setenv("HOMEFIRE_BROKER_VISIBILITY_TIMEOUT", str(VISIBILITY_TIMEOUT))
    user = make_user("vera")
    conversation = Conversation.objects.create(owner=user, model=long_model, title="long")
    worker = start_worker(long_model.slug)
    worker_name = f"{long_model.slug}@{socket.gethostname()}:{worker.proc.pid}"
    tab, answer, started, beat_while_streaming, second, second_status = asyncio.run(
        _scenario(
            asgi_server, session_cookie(user), conversation.pk, worker, worker_name, long_model
        )
    )
    tried("faults")
    log_text = worker.log_path.read_text()
    outcome = outcome_of([answer, second])
    fault_outcome(**outcome)
    assert outcome["lost"] == 0, (outcome, log_text[-3000:])

    stored = Message.objects.get(pk=answer)
    took = (stored.finished_at - stored.started_at).total_seconds()
    # The broker really handed the task out again while the answer ran, and the copy
    # was acknowledged without generating: it did not claim the answer a second time.
    assert took > VISIBILITY_TIMEOUT, took
    assert _copies_dropped(log_text, answer) >= 1, (took, log_text[-3000:])
    assert (stored.started_at, stored.worker) == (started["started_at"], started["worker"])
    assert stored.worker == worker_name
    # Stored once, whole: what the tab saw stream is what was stored, and what the
    # stream buffer holds; the buffer was never written again from the start.
    assert stored.status == "done", (stored.status, stored.error)
    assert stored.content and tab.view.text[answer] == stored.content
    assert streambuffer.read(answer).decode() == stored.content
    assert "stream buffer was lost" not in log_text
    # While the answer streamed after the copy had ended, the worker still counted it
    # as in progress (a copy ending must not end the original's count).
    assert beat_while_streaming is not None, (
        "the answer ended before the copy was dropped",
        took,
        stored.completion_tokens,
    )
    assert answer in beat_while_streaming.active_messages, beat_while_streaming
    assert beat_while_streaming.state == "busy"
    # One answer per question; nothing left unacknowledged, so no copy comes back.
    assert second_status == "done" and Message.objects.get(pk=second).content
    roles = list(conversation.messages.order_by("pk").values_list("role", flat=True))
    assert roles == ["user", "assistant", "user", "assistant"]
    assert not {answer, second} & set(_unacked_answer_ids())
    assert not {answer, second} & stranded.queued_message_ids(long_model.queue_name)
    assert "Traceback" not in log_text, log_text[-3000:]


def test_a_copy_ending_beside_the_running_task_keeps_the_answer_counted(long_model):
    """Without a model: the bookkeeping of two copies of one task in one worker."""
    user = make_user("walt")
    conversation = Conversation.objects.create(owner=user, model=long_model)
    answer = Message.objects.create(
        conversation=conversation,
        role="assistant",
        status="done",
        model=long_model,
        completion_tokens=60,
    )
    worker = Resident(name="copies@test:1", model_slug=long_model.slug, device="CPU", state="ready")
    tried("faults")
    try:
        with worker.serving(answer.pk):  # the task that generates
            with worker.serving(answer.pk) as copy:  # the copy, handed out again
                copy.generated = False
            assert worker.active == {answer.pk}
            assert _beat_of("copies@test:1").active_messages == [answer.pk]
            assert _beat_of("copies@test:1").state == "busy"
        assert worker.active == set()
        assert list(worker.finished)[0][1] == 60 and len(worker.finished) == 1
        # A copy that comes after the answer ended, alone: its tokens are not counted.
        with worker.serving(answer.pk) as late_copy:
            late_copy.generated = False
        assert len(worker.finished) == 1 and worker.active == set()
    finally:
        presence.forget("copies@test:1")
