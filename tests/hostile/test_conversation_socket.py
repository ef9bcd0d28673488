"""The conversation WebSocket through the real ASGI app: intruders, foreign origins, big frames."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from tests.hostile.conftest import Owned
from tests.hostile.tally import tried
from tests.streams import communicator, session_cookie
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def owned_rows(quick_model):
    return Owned(quick_model)


async def _refused(comm) -> bool:
    connected, _ = await comm.connect()
    if connected:
        output = await comm.receive_output(timeout=2)
        await comm.disconnect()
        return output["type"] == "websocket.close"
    return True


async def _cookie_for(actor: str, owned) -> str | None:
    if actor == "anonymous":
        return None
    user = owned.bob if actor == "bob" else owned.carol
    cookie = await sync_to_async(session_cookie)(user)
    if actor == "inactive":
        owned.carol.is_active = False
        await owned.carol.asave()
    return cookie


@pytest.mark.parametrize("actor", ["bob", "anonymous", "inactive"])
async def test_nobody_else_opens_alices_conversation(owned_rows, actor):
    owned = owned_rows
    cookie = await _cookie_for(actor, owned)
    before = await sync_to_async(owned.snapshot)()
    for conversation_id in (owned.conversation.pk, owned.conversation.pk + 1000):
        comm = communicator(f"/ws/conversations/{conversation_id}/", cookie=cookie)
        tried("access")
        assert await _refused(comm), (actor, conversation_id)
    assert await sync_to_async(owned.snapshot)() == before


async def test_bob_cannot_stop_or_post_into_alices_conversation_from_his_own(owned_rows):
    owned = owned_rows
    mine = await Conversation.objects.acreate(owner=owned.bob, model=owned.conversation.model)
    comm = communicator(
        f"/ws/conversations/{mine.pk}/", cookie=await sync_to_async(session_cookie)(owned.bob)
    )
    assert (await comm.connect())[0]
    before = await sync_to_async(owned.snapshot)()
    for message_id in (owned.question.pk, owned.answer.pk, "1 OR 1=1", None, [1], -1):
        await comm.send_to(text_data=json.dumps({"action": "stop", "message_id": message_id}))
        tried("access")
        frame = await comm.receive_from(timeout=5)
        assert "not yours to stop" in frame, frame
    # Fields that name another conversation are ignored: a send goes to the socket's own.
    await comm.send_to(
        text_data=json.dumps(
            {"action": "send", "content": "hi", "conversation_id": owned.conversation.pk}
        )
    )
    tried("access")
    await comm.receive_from(timeout=5)
    await comm.disconnect()
    assert await sync_to_async(owned.snapshot)() == before
    assert await Message.objects.filter(conversation=mine).acount() == 2


@pytest.mark.parametrize("action", ["regenerate", "edit", "continue", "show_version"])
async def test_bob_cannot_act_on_alices_messages_from_his_own_socket(owned_rows, action):
    owned = owned_rows
    mine = await Conversation.objects.acreate(owner=owned.bob, model=owned.conversation.model)
    comm = communicator(
        f"/ws/conversations/{mine.pk}/", cookie=await sync_to_async(session_cookie)(owned.bob)
    )
    assert (await comm.connect())[0]
    before = await sync_to_async(owned.snapshot)()
    for message_id in (owned.question.pk, owned.answer.pk, "1 OR 1=1", None, [1], -1):
        frame = {"action": action, "message_id": message_id, "content": "taken over"}
        await comm.send_to(text_data=json.dumps(frame))
        tried("access")
        reply = await comm.receive_from(timeout=5)
        assert "not yours" in reply, reply
    await comm.disconnect()
    assert await sync_to_async(owned.snapshot)() == before
    assert await Message.objects.filter(conversation=mine).acount() == 0


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "http://localhost.evil.example", None]
)
async def test_foreign_or_missing_origin_is_refused(owned_rows, origin):
    cookie = await sync_to_async(session_cookie)(owned_rows.alice)
    comm = communicator(
        f"/ws/conversations/{owned_rows.conversation.pk}/", cookie=cookie, origin=origin
    )
    tried("cross-site")
    assert await _refused(comm)


async def _alice_socket(owned):
    cookie = await sync_to_async(session_cookie)(owned.alice)
    comm = communicator(f"/ws/conversations/{owned.conversation.pk}/", cookie=cookie)
    assert (await comm.connect())[0]
    return comm


async def _frames_until_error(comm) -> str:
    while 'id="composer-error"' not in (frame := await comm.receive_from(timeout=5)):
        pass
    return frame


async def test_oversized_and_malformed_frames_are_refused_and_store_nothing(owned_rows):
    comm = await _alice_socket(owned_rows)
    count = await Message.objects.acount()
    limit = settings.HOMEFIRE["MAX_MESSAGE_CHARS"]
    cases = [
        (json.dumps({"content": "x" * (limit + 1)}), "the limit is"),
        ("x" * 200_001, "too large"),
        (json.dumps({"content": "y" * 250_000}), "too large"),
        ("{not json", "not JSON"),
        (json.dumps({"action": "explode"}), "Unknown action"),
        (json.dumps({"content": " \n\t "}), "Type a message first"),
    ]
    for text, reason in cases:
        await comm.send_to(text_data=text)
        tried("input")
        frame = await _frames_until_error(comm)
        assert reason in frame, (reason, frame[:300])
    await comm.disconnect()
    assert await Message.objects.acount() == count
