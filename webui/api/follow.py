"""Follow one answer as it streams, from a coroutine (an HTTP view), in order and gap-free."""

import asyncio
from collections.abc import AsyncIterator

from channels.layers import get_channel_layer

from webui.chat import events, streambuffer
from webui.chat.models import Message

# Without events for this long, look at the database: a missed "finished" still ends.
POLL_SECONDS = 2.0
# The first look comes sooner: the subscription opens just after the answer is queued, and
# an answer that ended in between sent its last event to no one.
FIRST_POLL_SECONDS = 0.25


class Subscription:
    """Listens to a conversation's events.

    Opened once the answer is queued, off the path to the worker: text sent before it is
    read from the answer's buffer with the first delta heard, and an end missed meanwhile
    is found by the first look at the database.
    """

    def __init__(self, conversation_id: int):
        self.group = events.conversation_group(conversation_id)
        self.layer = get_channel_layer()
        self.channel = None

    async def __aenter__(self) -> "Subscription":
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.layer.group_discard(self.group, self.channel)

    async def answer(self, message_id: int) -> AsyncIterator[str | Message]:
        """Yield the answer's text as it comes; the last item is the finished Message."""
        have, wait = 0, FIRST_POLL_SECONDS
        while True:
            try:
                event = await asyncio.wait_for(self.layer.receive(self.channel), wait)
            except TimeoutError:
                event = {"type": "message.changed", "message_id": message_id}
            wait = POLL_SECONDS  # heard or looked: nothing was missed before the subscription
            if event.get("message_id") != message_id:
                continue
            if event["type"] == "message.delta":
                chunk = streambuffer.unseen_part(have, event["offset"], event["text"])
                if chunk is None:
                    chunk = (await streambuffer.aread(message_id))[have:]
                if chunk:
                    have += len(chunk)
                    yield chunk.decode(errors="replace")
                continue
            message = await Message.objects.aget(pk=message_id)
            if not message.is_active:
                if rest := message.content.encode()[have:]:
                    yield rest.decode(errors="replace")
                yield message
                return
