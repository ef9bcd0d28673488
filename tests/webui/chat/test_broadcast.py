"""Events a worker publishes with its text reach the views that listen through Channels."""

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer

from tests.loops import run_in_its_own_thread
from webui.chat import broadcast, events, streambuffer


@pytest.fixture
def fresh_layer_setting():
    broadcast._pubsub_prefix.cache_clear()
    yield
    broadcast._pubsub_prefix.cache_clear()


def test_an_event_published_with_its_text_reaches_a_listening_view(fresh_layer_setting):
    conversation_id = uuid.uuid4().int % 10**9  # no other test listens to it
    message_id = conversation_id
    delta = events.message_delta(message_id, 0, "Once upon a time")

    async def listen_then_append():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.conversation_group(conversation_id), channel)
        packed = broadcast.packed_for_conversation(conversation_id, delta)
        offset = await asyncio.to_thread(
            streambuffer.append, message_id, "Once upon a time", publish=packed
        )
        received = await asyncio.wait_for(layer.receive(channel), 5)
        await layer.group_discard(events.conversation_group(conversation_id), channel)
        return offset, received

    offset, received = run_in_its_own_thread(listen_then_append)
    assert offset == 0
    assert received == delta
    assert streambuffer.read(message_id) == b"Once upon a time"
    streambuffer.forget(message_id)


def test_events_sent_in_turn_from_one_thread_arrive_in_turn(fresh_layer_setting):
    group = f"bench.{uuid.uuid4().hex}"
    sent = [events.message_changed(n) for n in range(20)]

    async def listen_then_send():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group, channel)

        def send_all():
            for event in sent:
                broadcast.to_group(group, event, wait=event["message_id"] % 2 == 0)

        await asyncio.to_thread(send_all)
        received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in sent]
        await layer.group_discard(group, channel)
        return received

    assert run_in_its_own_thread(listen_then_send) == sent


def test_any_other_channel_layer_sends_through_the_layer(fresh_layer_setting, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert broadcast.packed_for_conversation(1, events.message_changed(1)) is None
