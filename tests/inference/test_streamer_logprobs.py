"""An answer's logprobs travel to Redis with its text, for the API to stream them."""

import asyncio
import threading
from contextlib import contextmanager

import pytest
from django.conf import settings

from inference.engine.contract import Figures
from inference.engine.llama import LlamaModel
from inference.worker.generation import generate_reply
from inference.worker.start_notice import StartNotice
from inference.worker.streamer import Streamer
from tests.streams import make_user
from webui.chat import streambuffer
from webui.chat.models import Conversation, Message
from webui.core.redis import client, keys
from webui.registry import presence
from webui.registry.bundled import bundled_model_path
from webui.registry.worker_states import WorkerState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def answer(bundled_model):
    conversation = Conversation.objects.create(
        owner=make_user("alice"), title="t", model=bundled_model
    )
    Message.objects.create(conversation=conversation, role="user", content="Name three colours.")
    answer = Message.objects.create(
        conversation=conversation, role="assistant", status="queued", model=bundled_model
    )
    yield answer
    streambuffer.forget(answer.pk)


def _entry(token: str) -> dict:
    data = list(token.encode())
    return {"token": token, "logprob": -0.5, "bytes": data, "top_logprobs": []}


def test_each_flush_sends_the_new_logprobs_with_the_text(answer):
    figures = Figures()
    streamer = Streamer(answer, StartNotice(answer), figures=figures)
    for token in ["Red", ",", " green"]:
        figures.logprobs.append(_entry(token))  # as the decoder does: before the text
        streamer.add(token)
        streamer.flush()
        sent = streambuffer.logprobs(answer.pk)
        assert b"".join(bytes(e["bytes"]) for e in sent) == streambuffer.read(answer.pk)
    assert streambuffer.logprobs(answer.pk, 1) == figures.logprobs[1:]
    assert asyncio.run(streambuffer.alogprobs(answer.pk, 2)) == figures.logprobs[2:]
    ttl = client().ttl(keys.logprobs(answer.pk))
    assert 0 < ttl <= streambuffer.KEEP_SECONDS
    # A token whose text never shows (held back, then cut at a stop sequence) still has
    # its entry sent, at the last flush.
    figures.logprobs.append(_entry(" and"))
    streamer.flush()
    assert len(streambuffer.logprobs(answer.pk)) == 4
    assert streambuffer.read(answer.pk) == b"Red, green"
    streamer.notice.cancel()


def test_logprobs_lost_with_the_buffer_are_written_again_whole(answer):
    figures = Figures()
    streamer = Streamer(answer, StartNotice(answer), figures=figures)
    for token in ["One", " two"]:
        figures.logprobs.append(_entry(token))
        streamer.add(token)
        streamer.flush()
    client().delete(keys.stream(answer.pk), keys.logprobs(answer.pk))  # as a Redis restart
    figures.logprobs.append(_entry(" three"))
    streamer.add(" three")
    streamer.flush()
    assert streambuffer.read(answer.pk) == b"One two three"
    assert streambuffer.logprobs(answer.pk) == figures.logprobs
    streamer.notice.cancel()


def test_an_answer_without_logprobs_writes_no_list(answer):
    streamer = Streamer(answer, StartNotice(answer), figures=Figures())
    streamer.add("Hello")
    streamer.flush()
    assert streambuffer.read(answer.pk) == b"Hello"
    assert not client().exists(keys.logprobs(answer.pk))
    streamer.notice.cancel()


def test_forgetting_a_message_drops_its_logprobs(answer):
    streambuffer.append(answer.pk, "x", logprobs=[_entry("x")])
    streambuffer.forget(answer.pk)
    assert streambuffer.logprobs(answer.pk) == []
    streambuffer.append(answer.pk, "y", logprobs=[_entry("y")])
    streambuffer.forget_deleted([answer.pk])
    assert not client().exists(keys.logprobs(answer.pk))


@contextmanager
def beating(name: str, message_id: int):
    """Beat as a live worker writing this answer, as a real worker does: the housekeeping
    that runs beside the session's live worker ends an answer whose worker does not beat
    once it has streamed past the heartbeat timeout (a busy machine, a model to load)."""
    stop = threading.Event()

    def beat():
        while True:
            presence.beat(
                presence.WorkerBeat(
                    name=name,
                    host="test",
                    model="",
                    state=WorkerState.BUSY,
                    device="CPU",
                    active_messages=[message_id],
                    seen=presence.now(),
                )
            )
            if stop.wait(settings.HOMEFIRE["WORKER_HEARTBEAT_INTERVAL"]):
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        presence.forget(name)


def test_the_real_model_streams_its_logprobs_and_stores_the_same(answer):
    answer.sampling = {"temperature": 0, "logprobs": True, "top_logprobs": 2}
    answer.save(update_fields=["sampling"])
    model = LlamaModel(bundled_model_path(), n_ctx=512, parallel=1)
    try:
        with beating("w", answer.pk):
            assert generate_reply(answer.pk, model=model, worker_name="w") == "done"
    finally:
        model.close()
    answer.refresh_from_db()
    streamed = streambuffer.logprobs(answer.pk)
    assert streamed == answer.logprobs
    assert len(streamed) == answer.completion_tokens > 0
    assert b"".join(bytes(e["bytes"]) for e in streamed) == streambuffer.read(answer.pk)
    assert streambuffer.read(answer.pk).decode() == answer.content
    assert all(len(e["top_logprobs"]) == 2 for e in streamed)
