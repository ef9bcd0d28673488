"""The WebSocket through the real ASGI app, with session auth and origin checks."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from tests.streams import TabView, communicator, make_user, session_cookie
from webui.chat.models import Conversation, Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_and_bob(bundled_model):
    alice, bob = make_user("alice"), make_user("bob")
    conversation = Conversation.objects.create(owner=alice, title="mine", model=bundled_model)
    return alice, bob, conversation


async def _refused(comm) -> bool:
    connected, _ = await comm.connect()
    if connected:
        # Accepted then closed by the consumer.
        output = await comm.receive_output(timeout=2)
        await comm.disconnect()
        return output["type"] == "websocket.close"
    return True


async def test_anonymous_socket_is_refused(alice_and_bob):
    _, _, conversation = alice_and_bob
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=None)
    assert await _refused(comm)


async def test_other_users_conversation_socket_is_refused(alice_and_bob):
    _, bob, conversation = alice_and_bob
    cookie = await sync_to_async(session_cookie)(bob)
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie)
    assert await _refused(comm)


@pytest.mark.parametrize("origin", ["http://evil.example", None])
async def test_foreign_or_missing_origin_is_refused(alice_and_bob, origin):
    alice, _, conversation = alice_and_bob
    cookie = await sync_to_async(session_cookie)(alice)
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie, origin=origin)
    assert await _refused(comm)


async def test_rejected_message_keeps_nothing_and_says_why(alice_and_bob):
    alice, _, conversation = alice_and_bob
    cookie = await sync_to_async(session_cookie)(alice)
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie)
    connected, _ = await comm.connect()
    assert connected
    await comm.send_to(text_data=json.dumps({"action": "send", "content": "   "}))
    frame = await comm.receive_from(timeout=5)
    assert 'id="composer-error"' in frame and "Type a message first" in frame
    await comm.send_to(text_data="not json")
    assert "not JSON" in await comm.receive_from(timeout=5)
    await comm.disconnect()
    assert await Message.objects.filter(conversation=conversation).acount() == 0


async def test_cannot_stop_another_users_message(alice_and_bob):
    alice, bob, conversation = alice_and_bob
    answer = await Message.objects.acreate(
        conversation=conversation, role="assistant", status="queued"
    )
    cookie = await sync_to_async(session_cookie)(bob)
    bobs = await Conversation.objects.acreate(owner=bob, title="bob's")
    comm = communicator(f"/ws/conversations/{bobs.pk}/", cookie=cookie)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"action": "stop", "message_id": answer.pk}))
    assert "not yours" in await comm.receive_from(timeout=5)
    await comm.disconnect()
    await answer.arefresh_from_db()
    assert answer.status == "queued"


@pytest.mark.worker
async def test_answer_streams_in_order_to_two_tabs_and_is_stored(live_worker, alice_and_bob):
    alice, _, conversation = alice_and_bob
    cookie = await sync_to_async(session_cookie)(alice)
    path = f"/ws/conversations/{conversation.pk}/"
    first = communicator(path, cookie=cookie)
    assert (await first.connect())[0]
    await first.send_to(
        text_data=json.dumps({"action": "send", "content": "Write a haiku about the sea."})
    )
    tab1 = TabView()
    tab1.apply(await first.receive_from(timeout=10))
    answer = await Message.objects.aget(conversation=conversation, role="assistant")
    assert tab1.status[answer.pk] == "queued"

    await tab1.follow(first, answer.pk, {"streaming"})
    while not tab1.text.get(answer.pk):
        tab1.apply(await first.receive_from(timeout=30))
    # A second tab opens mid-answer: it catches up, then follows live.
    second = communicator(path, cookie=cookie)
    assert (await second.connect())[0]
    tab2 = TabView()
    await tab1.follow(first, answer.pk, {"done"})
    await tab2.follow(second, answer.pk, {"done"})
    await first.disconnect()
    await second.disconnect()

    await answer.arefresh_from_db()
    assert answer.status == "done"
    assert answer.content.strip()
    assert answer.completion_tokens > 0 and answer.prompt_tokens > 0
    assert answer.ttft_ms > 0 and answer.tokens_per_second > 0
    # What each tab assembled from the stream is exactly what was stored.
    streamed1 = "".join(tab1.text.get(answer.pk, ""))
    assert answer.content.startswith(streamed1) or streamed1 == answer.content
    assert tab2.text.get(answer.pk, "") in answer.content


async def test_queued_answer_says_it_waits_for_a_worker(alice_and_bob):
    from webui.registry.models import LLMModel

    alice, _, _ = alice_and_bob
    idle = await LLMModel.objects.acreate(name="Idle", slug="idle-model", path="/nowhere.gguf")
    conversation = await Conversation.objects.acreate(owner=alice, model=idle)
    cookie = await sync_to_async(session_cookie)(alice)
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"content": "anyone there?"}))
    frame = await comm.receive_from(timeout=5)
    assert 'data-status="queued"' in frame
    assert "No worker is serving Idle" in frame
    await comm.disconnect()
    # The user's words are stored even though nobody can answer yet.
    assert await Message.objects.filter(content="anyone there?").aexists()


async def test_a_new_answer_shows_its_place_in_line_once_it_still_waits(alice_and_bob, monkeypatch):
    from webui.chat import consumers
    from webui.registry import presence
    from webui.registry.models import LLMModel

    monkeypatch.setattr(consumers, "QUEUE_LOOK_SECONDS", 0.2)
    alice, _, _ = alice_and_bob
    busy = await LLMModel.objects.acreate(name="Busy", slug="busy-model", path="/x.gguf")
    worker = presence.WorkerBeat(
        name="busy@test:1",
        host="test",
        model=busy.slug,
        state="busy",
        device="CPU",
        active_messages=[1],
        seen=presence.now(),
    )
    await sync_to_async(presence.beat)(worker)
    conversation = await Conversation.objects.acreate(owner=alice, model=busy)
    cookie = await sync_to_async(session_cookie)(alice)
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie)
    try:
        assert (await comm.connect())[0]
        await comm.send_to(text_data=json.dumps({"content": "Am I in the queue?"}))
        appended = await comm.receive_from(timeout=5)
        assert 'data-status="queued"' in appended and "Waiting for a free slot…" in appended
        assert "data-queue-position" not in appended  # drawn before its place is known
        looked = await comm.receive_from(timeout=5)
        assert 'data-queue-position="1"' in looked and "next in line" in looked
    finally:
        await comm.disconnect()
        await sync_to_async(presence.forget)(worker.name)


async def test_logging_out_closes_the_sessions_socket(alice_and_bob):
    from django.test import AsyncClient

    alice, _, conversation = alice_and_bob
    client = AsyncClient()
    await client.aforce_login(alice)
    cookie = client.cookies["sessionid"].value
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie)
    assert (await comm.connect())[0]
    await client.post("/accounts/logout/")
    assert (await comm.receive_output(timeout=5))["type"] == "websocket.close"


async def _alices_socket(alice, conversation):
    cookie = await sync_to_async(session_cookie)(alice)
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie)
    assert (await comm.connect())[0]
    return comm


async def test_streamed_text_is_appended_as_it_came(alice_and_bob):
    from channels.layers import get_channel_layer

    from webui.chat import events

    alice, _, conversation = alice_and_bob
    answer = await Message.objects.acreate(
        conversation=conversation, role="assistant", status="streaming"
    )
    comm = await _alices_socket(alice, conversation)
    try:
        assert 'data-status="streaming"' in await comm.receive_from(timeout=5)  # caught up
        delta = events.message_delta(answer.pk, 0, "a <b> & 'c'\n")
        await get_channel_layer().group_send(events.conversation_group(conversation.pk), delta)
        assert await comm.receive_from(timeout=5) == (
            f'<span id="message-{answer.pk}-text" hx-swap-oob="beforeend">'
            "a &lt;b&gt; &amp; &#x27;c&#x27;\n</span>"
        )
    finally:
        await comm.disconnect()


async def test_a_waiting_answer_shows_its_place_once_a_worker_comes(alice_and_bob, monkeypatch):
    from webui.chat import consumers
    from webui.registry import presence
    from webui.registry.models import LLMModel

    monkeypatch.setattr(consumers, "WATCH_SECONDS", 0.2)
    alice, _, _ = alice_and_bob
    late = await LLMModel.objects.acreate(name="Late", slug="late-model", path="/x.gguf")
    conversation = await Conversation.objects.acreate(owner=alice, model=late)
    await Message.objects.acreate(
        conversation=conversation, role="assistant", status="queued", model=late
    )
    comm = await _alices_socket(alice, conversation)
    worker = presence.WorkerBeat(
        name="late@test:1",
        host="test",
        model=late.slug,
        state="ready",
        device="CPU",
        active_messages=[],
        seen=presence.now(),
    )
    try:
        assert "No worker is serving Late" in await comm.receive_from(timeout=5)
        # A heartbeat sends no event: the tab's timer sees the worker come.
        await sync_to_async(presence.beat)(worker)
        assert 'data-queue-position="1"' in await comm.receive_from(timeout=5)
    finally:
        await comm.disconnect()
        await sync_to_async(presence.forget)(worker.name)


async def test_an_answer_that_ended_unannounced_is_drawn_ended(alice_and_bob, monkeypatch):
    from webui.chat import consumers

    monkeypatch.setattr(consumers, "WATCH_SECONDS", 0.2)
    alice, _, conversation = alice_and_bob
    answer = await Message.objects.acreate(
        conversation=conversation, role="assistant", status="streaming", content="so far"
    )
    comm = await _alices_socket(alice, conversation)
    try:
        assert 'data-status="streaming"' in await comm.receive_from(timeout=5)
        # Ended while its event was lost (Redis away): no event comes, the timer sees it.
        await Message.objects.filter(pk=answer.pk).aupdate(status="stopped")
        frame = await comm.receive_from(timeout=5)
        assert 'data-status="stopped"' in frame and 'id="context-meter"' in frame
        assert await comm.receive_nothing(timeout=0.6)  # drawn once, not at every look
    finally:
        await comm.disconnect()


def _reaping_recorded(monkeypatch) -> list:
    """Record any reaping done in this process (the housekeeping process's is its own)."""
    from webui.chat import reaper

    calls = []
    monkeypatch.setattr(reaper, "reap_orphans", lambda: calls.append("reap") or [])
    return calls


async def test_an_open_tab_leaves_lost_answers_to_the_housekeeping(alice_and_bob, monkeypatch):
    from django.utils import timezone

    from webui.chat import consumers

    monkeypatch.setattr(consumers, "WATCH_SECONDS", 0.2)
    reaped = _reaping_recorded(monkeypatch)
    alice, _, conversation = alice_and_bob
    await Message.objects.acreate(
        conversation=conversation,
        role="assistant",
        status="streaming",
        worker="gone@test:1",
        # Recent: the session's housekeeping process leaves it alone for this test's second.
        started_at=timezone.now(),
    )
    comm = await _alices_socket(alice, conversation)
    try:
        assert 'data-status="streaming"' in await comm.receive_from(timeout=5)
        await asyncio.sleep(1)  # several looks at the pending answer
    finally:
        await comm.disconnect()
    assert reaped == []
