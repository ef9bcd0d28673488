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
        async for _, item in self.answers([message_id]):
            yield item

    async def answers(self, message_ids: list[int]) -> AsyncIterator[tuple[int, str | Message]]:
        """Yield (id, text) as each answer's text comes, and (id, the finished Message) as
        each ends, until all have (the choices of one request, interleaved)."""
        have, wait = dict.fromkeys(message_ids, 0), FIRST_POLL_SECONDS
        while have:
            try:
                event = await asyncio.wait_for(self.layer.receive(self.channel), wait)
                looked = [event.get("message_id")]
            except TimeoutError:
                event, looked = {"type": "message.changed"}, list(have)
            wait = POLL_SECONDS  # heard or looked: nothing was missed before the subscription
            if event["type"] == "message.delta":
                message_id = event.get("message_id")
                if message_id not in have:
                    continue
                chunk = streambuffer.unseen_part(have[message_id], event["offset"], event["text"])
                if chunk is None:
                    chunk = (await streambuffer.aread(message_id))[have[message_id] :]
                if chunk:
                    have[message_id] += len(chunk)
                    yield message_id, chunk.decode(errors="replace")
                continue
            if not (looked := [i for i in looked if i in have]):
                continue
            found = [m async for m in Message.objects.filter(pk__in=looked).order_by("id")]
            if len(found) < len(looked):
                raise Message.DoesNotExist("an answer was deleted while it was followed")
            for message in found:
                if message.is_active:
                    continue
                if rest := message.content.encode()[have.pop(message.pk) :]:
                    yield message.pk, rest.decode(errors="replace")
                yield message.pk, message
