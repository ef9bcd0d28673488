"""An API request listens once its answer is queued: what came before is not lost."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from tests.streams import make_user
from webui.api.follow import POLL_SECONDS, Subscription
from webui.chat import broadcast, events, streambuffer
from webui.chat.models import Conversation, Message

pytestmark = pytest.mark.django_db(transaction=True)


def _answer(status: str, content: str = "") -> Message:
    owner = make_user("follow")
    conversation = Conversation.objects.create(owner=owner, title="API request")
    return Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, status=status, content=content
    )


async def _follow(answer: Message) -> list:
    async with Subscription(answer.conversation_id) as subscription:
        return [item async for item in subscription.answer(answer.pk)]


async def test_an_answer_that_ended_before_the_subscription_ends_at_the_first_look():
    # The worker wrote it all and sent its last event while no one listened yet.
    answer = await sync_to_async(_answer)(Message.Status.DONE, "Hello there.")
    items = await asyncio.wait_for(_follow(answer), POLL_SECONDS)
    assert items[:-1] == ["Hello there."]
    assert items[-1].status == Message.Status.DONE


async def test_text_sent_before_the_subscription_comes_with_the_first_delta_heard():
    answer = await sync_to_async(_answer)(Message.Status.STREAMING)
    streambuffer.append(answer.pk, "Once upon ")  # its delta went to no one

    async def worker_goes_on():
        await asyncio.sleep(0.1)
        offset = await asyncio.to_thread(streambuffer.append, answer.pk, "a time.")
        delta = events.message_delta(answer.pk, offset, "a time.")
        await asyncio.to_thread(broadcast.to_conversation, answer.conversation_id, delta)
        await Message.objects.filter(pk=answer.pk).aupdate(
            status=Message.Status.DONE, content="Once upon a time."
        )
        await asyncio.to_thread(broadcast.message_changed, answer)

    follower = asyncio.create_task(_follow(answer))
    await worker_goes_on()
    items = await asyncio.wait_for(follower, 10)
    streambuffer.forget(answer.pk)
    assert "".join(items[:-1]) == "Once upon a time."
    assert items[-1].status == Message.Status.DONE
