"""Views hear that a worker took an answer once: with its first text, or after a while."""

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer

from inference.worker import start_notice
from inference.worker.start_notice import StartNotice
from tests.loops import run_in_its_own_thread
from webui.chat import broadcast, events
from webui.chat.models import Message


@pytest.fixture
def message():
    broadcast._pubsub_prefix.cache_clear()
    conversation_id = uuid.uuid4().int % 10**9  # no other test listens to it
    yield Message(pk=conversation_id, conversation_id=conversation_id)  # never saved
    broadcast._pubsub_prefix.cache_clear()


def _heard(message, act, *, listen_seconds: float) -> list[dict]:
    """What the answer's views hear while `act` runs and for `listen_seconds` after."""

    async def listen():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        group = events.conversation_group(message.conversation_id)
        await layer.group_add(group, channel)
        await asyncio.to_thread(act)
        heard = []
        try:
            while True:
                heard.append(await asyncio.wait_for(layer.receive(channel), listen_seconds))
        except TimeoutError:
            pass
        await layer.group_discard(group, channel)
        return heard

    return run_in_its_own_thread(listen)


def test_the_first_text_sends_it_once_with_the_workers_own_announcement(message, monkeypatch):
    monkeypatch.setattr(start_notice, "NOTICE_SECONDS", 0.05)  # its timer must not send again
    announced = []

    def first_text_twice():
        notice = StartNotice(message, also=lambda: announced.append(True))
        notice.now()
        notice.now()

    heard = _heard(message, first_text_twice, listen_seconds=0.3)
    assert heard == [events.message_changed(message.pk)]
    assert announced == [True]


def test_a_long_prompt_is_told_while_it_is_read(message, monkeypatch):
    monkeypatch.setattr(start_notice, "NOTICE_SECONDS", 0.05)
    heard = _heard(message, lambda: StartNotice(message), listen_seconds=1)
    assert heard == [events.message_changed(message.pk)]


def test_an_answer_that_ends_first_sends_none(message, monkeypatch):
    monkeypatch.setattr(start_notice, "NOTICE_SECONDS", 0.05)
    announced = []

    def end_before_any_text():
        StartNotice(message, also=lambda: announced.append(True)).cancel()

    assert _heard(message, end_before_any_text, listen_seconds=0.3) == []
    assert announced == []
