"""Send events to every open view of a conversation, from synchronous code.

Views and the worker's generation loop are synchronous. Rather than spin up an event
loop (and a Redis connection) for every send, one background loop per process carries
all sends, in the order they were made.
"""

import asyncio
import threading
from functools import cache

from channels.layers import get_channel_layer

from webui.chat import events

SEND_TIMEOUT = 5.0


@cache
def _loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="homefire-broadcast", daemon=True).start()
    return loop


def to_group(group: str, event: dict) -> None:
    future = asyncio.run_coroutine_threadsafe(get_channel_layer().group_send(group, event), _loop())
    future.result(timeout=SEND_TIMEOUT)


def to_conversation(conversation_id: int, event: dict) -> None:
    to_group(events.conversation_group(conversation_id), event)


def message_changed(message) -> None:
    to_conversation(message.conversation_id, events.message_changed(message.pk))
