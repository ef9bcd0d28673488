"""Send events to every open view of a conversation, from synchronous code.

Views and the worker's generation loop are synchronous. With channels_redis's pub/sub
layer on one Redis (Homefire's setting), a group is a plain Redis channel: a send is one
PUBLISH from the sender's own thread, so a thread's sends arrive in the order it made
them, and the Redis client reconnects by itself after a Redis restart. With any other
layer, one background event loop per process carries all sends through the layer; a
sender waits for each of its sends unless it says it need not (an event that only says
"look again").
"""

import asyncio
import logging
import threading
from functools import cache

import redis
from channels.layers import get_channel_layer
from django.conf import settings

from webui.chat import events
from webui.core import wire
from webui.core.redis import client

log = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0


@cache
def _loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="homefire-broadcast", daemon=True).start()
    return loop


def to_group(group: str, event: dict, *, wait: bool = True) -> None:
    """Send, and wait until it is sent; without `wait`, a failure is logged, not raised
    (only for events whose order does not matter, such as message_changed)."""
    if (packed := _packed(group, event)) is not None:
        try:
            client().publish(*packed)
        except redis.RedisError as exc:
            if wait:
                raise
            log.warning("could not reach the open views: %s", exc)
        return
    future = asyncio.run_coroutine_threadsafe(get_channel_layer().group_send(group, event), _loop())
    if wait:
        future.result(timeout=SEND_TIMEOUT)
    else:
        future.add_done_callback(_log_failure)


def _log_failure(future) -> None:
    if not future.cancelled() and (exc := future.exception()) is not None:
        log.warning("could not reach the open views: %s", exc)


def to_conversation(conversation_id: int, event: dict, *, wait: bool = True) -> None:
    to_group(events.conversation_group(conversation_id), event, wait=wait)


@cache
def _pubsub_prefix() -> str | None:
    """The channel prefix of channels_redis's pub/sub layer on one Redis (Homefire's own
    setting), whose groups are plain Redis channels; None for any other layer."""
    layer = settings.CHANNEL_LAYERS["default"]
    config = layer.get("CONFIG", {})
    if layer["BACKEND"] != wire.PUBSUB_LAYER or config.get("hosts") != [settings.REDIS_URL]:
        return None  # only then is the project's Redis client on the layer's Redis
    return config.get("prefix", "asgi")


def packed_for_conversation(conversation_id: int, event: dict) -> tuple[str, bytes] | None:
    """The Redis channel and payload that carry this event to every open view, for a
    sender that publishes it itself in a Redis transaction of its own (see
    streambuffer.append); None where only the channel layer can send it.

    It is what the layer's group_send publishes (see webui.core.wire).
    """
    return _packed(events.conversation_group(conversation_id), event)


def _packed(group: str, event: dict) -> tuple[str, bytes] | None:
    if (prefix := _pubsub_prefix()) is None:
        return None
    return wire.group_channel(prefix, group), wire.serialize_event(get_channel_layer(), event)


def message_changed(message, *, wait: bool = True) -> None:
    to_conversation(message.conversation_id, events.message_changed(message.pk), wait=wait)
