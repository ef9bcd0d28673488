"""Message actions over the conversation's WebSocket: owner-only, and real with a live worker."""

import json
import re

import pytest
from asgiref.sync import sync_to_async

from tests.streams import TabView, communicator, make_user, session_cookie
from webui.chat import services
from webui.chat.models import Conversation, Message
from webui.chat.selectors import prompt_history as history_for

pytestmark = pytest.mark.django_db(transaction=True)

ACTIONS = ["regenerate", "edit", "continue", "show_version"]
BRANCH_FRAME = re.compile(r'<div id="messages" hx-swap-oob="innerHTML">')


def _snapshot(conversation_id: int) -> list:
    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("pk")
        .values("pk", "content", "status", "shown", "parent_id", "version_of_id")
    )


@pytest.fixture
def alices(bundled_model):
    alice = make_user("alice")
    conversation = Conversation.objects.create(owner=alice, title="mine", model=bundled_model)
    question = Message.objects.create(conversation=conversation, role="user", content="secret")
    answer = Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="cut",
        status="done",
        finish_reason="length",
        parent=question,
    )
    return alice, conversation, question, answer


async def _socket(user, conversation):
    cookie = await sync_to_async(session_cookie)(user)
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie)
    assert (await comm.connect())[0]
    return comm


async def test_nobody_acts_on_another_users_messages(alices):
    alice, conversation, question, answer = alices
    bob = await sync_to_async(make_user)("bob")
    bobs = await Conversation.objects.acreate(owner=bob, title="bob's")
    comm = await _socket(bob, bobs)
    before = await sync_to_async(_snapshot)(conversation.pk)
    for action in ACTIONS:
        for message_id in (question.pk, answer.pk, answer.pk + 1000, "1 OR 1=1", None, [1]):
            frame = {"action": action, "message_id": message_id, "content": "taken over"}
            await comm.send_to(text_data=json.dumps(frame))
            reply = await comm.receive_from(timeout=5)
            assert "not yours" in reply, (action, message_id, reply)
    await comm.disconnect()
    assert await sync_to_async(_snapshot)(conversation.pk) == before
    assert await Message.objects.filter(conversation=bobs).acount() == 0


async def test_a_socket_acts_only_on_its_own_conversation(alices):
    alice, conversation, question, answer = alices
    other = await Conversation.objects.acreate(owner=alice, title="other")
    comm = await _socket(alice, other)
    before = await sync_to_async(_snapshot)(conversation.pk)
    for action in ACTIONS:
        frame = {"action": action, "message_id": answer.pk, "content": "x"}
        await comm.send_to(text_data=json.dumps(frame))
        assert "not yours" in await comm.receive_from(timeout=5)
    await comm.disconnect()
    assert await sync_to_async(_snapshot)(conversation.pk) == before


async def _until_done(comm, tab: TabView, message_id: int) -> None:
    while tab.status.get(message_id) not in {"done", "stopped", "failed"}:
        tab.apply(await comm.receive_from(timeout=120))


@pytest.mark.worker
async def test_regenerate_and_switch_versions_with_the_live_worker(live_worker, bundled_model):
    alice = await sync_to_async(make_user)("alice")
    conversation = await sync_to_async(services.conversation_start)(
        owner=alice, content="Name a colour.", model=bundled_model
    )
    first = await Message.objects.aget(conversation=conversation, role="assistant")
    comm = await _socket(alice, conversation)
    tab = TabView()
    await _until_done(comm, tab, first.pk)

    await comm.send_to(text_data=json.dumps({"action": "regenerate", "message_id": first.pk}))
    second = None
    while second is None:
        frame = await comm.receive_from(timeout=30)
        tab.apply(frame)
        if BRANCH_FRAME.search(frame):
            second = await Message.objects.filter(version_of=first).afirst()
    assert f'id="message-{first.pk}"' not in frame  # the old version is no longer shown
    await _until_done(comm, tab, second.pk)
    await first.arefresh_from_db()
    await second.arefresh_from_db()
    assert (first.status, first.shown) == ("done", False)
    assert (second.status, second.shown) == ("done", True)
    assert second.content.strip() and second.parent_id == first.parent_id

    await comm.send_to(text_data=json.dumps({"action": "show_version", "message_id": first.pk}))
    while not BRANCH_FRAME.search(frame := await comm.receive_from(timeout=10)):
        pass
    assert f'id="message-{first.pk}"' in frame and 'data-version="1/2"' in frame
    await comm.disconnect()

    # The next answer's history holds the version shown when it was asked.
    question, answer = await sync_to_async(services.message_send)(
        conversation=conversation, content="Another one?"
    )
    history = await sync_to_async(history_for)(answer)
    assert [m["content"] for m in history] == ["Name a colour.", first.content, "Another one?"]


@pytest.mark.worker
async def test_continue_goes_on_in_the_same_answer(live_worker, bundled_model):
    bundled_model.max_tokens = 12
    await bundled_model.asave()
    alice = await sync_to_async(make_user)("alice")
    conversation = await sync_to_async(services.conversation_start)(
        owner=alice, content="Tell me a long story about a lighthouse keeper.", model=bundled_model
    )
    answer = await Message.objects.aget(conversation=conversation, role="assistant")
    comm = await _socket(alice, conversation)
    tab = TabView()
    await _until_done(comm, tab, answer.pk)
    await answer.arefresh_from_db()
    assert (answer.status, answer.finish_reason) == ("done", "length")
    assert 'data-finish="length"' in tab.frames[-1] and "Continue</button>" in tab.frames[-1]
    cut, cut_tokens = answer.content, answer.completion_tokens

    await comm.send_to(text_data=json.dumps({"action": "continue", "message_id": answer.pk}))
    tab.status[answer.pk] = "continuing"
    await _until_done(comm, tab, answer.pk)
    await comm.disconnect()
    await answer.arefresh_from_db()
    assert answer.status == "done" and answer.finish_reason in {"stop", "length"}
    assert answer.content.startswith(cut) and len(answer.content) > len(cut)
    assert answer.completion_tokens > cut_tokens
    # What the tab assembled from the stream is the whole answer, earlier part included.
    assert tab.text[answer.pk] == answer.content or answer.content.startswith(tab.text[answer.pk])
    assert await Message.objects.filter(conversation=conversation).acount() == 2
