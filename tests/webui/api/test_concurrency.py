"""An API user and a browser user on one model, served together by one worker."""

import json
import threading
import time

import openai
import pytest
from asgiref.sync import sync_to_async

from tests.streams import TabView, communicator, make_user, session_cookie
from webui.api.models import ApiKey
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.postgresql]


def _long_api_stream(base_url: str, key: str, record: dict) -> None:
    try:
        _stream_into(base_url, key, record)
    except Exception as exc:  # reported by the test, not lost in the thread
        record["error"] = exc


def _stream_into(base_url: str, key: str, record: dict) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=120)
    stream = client.chat.completions.create(
        model="smollm2",
        stream=True,
        max_tokens=300,
        temperature=0,
        # Greedy, this story runs to all 300 tokens (seconds of streaming); the counting
        # prompt used before ended after about 60, a race with the browser's first text.
        messages=[{"role": "user", "content": "Tell a very long story."}],
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            record.setdefault("first", time.monotonic())
            record["last"] = time.monotonic()


async def test_browser_answer_streams_while_an_api_answer_is_streaming(
    asgi_server, live_worker, bundled_model
):
    bundled_model.max_tokens = 300
    await bundled_model.asave()
    alice, bob = await sync_to_async(make_user)("alice"), await sync_to_async(make_user)("bob")
    _, key = await sync_to_async(ApiKey.issue)(user=bob, name="script")
    api: dict = {}
    thread = threading.Thread(target=_long_api_stream, args=(asgi_server, key, api))
    thread.start()
    deadline = time.monotonic() + 60
    while "first" not in api:  # the API answer is streaming
        assert "error" not in api, api["error"]
        assert time.monotonic() < deadline, "the API answer never started"
        await sync_to_async(time.sleep)(0.05)

    conversation = await Conversation.objects.acreate(owner=alice, model=bundled_model)
    comm = communicator(
        f"/ws/conversations/{conversation.pk}/", cookie=await sync_to_async(session_cookie)(alice)
    )
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"content": "Say hello."}))
    tab = TabView()
    tab.apply(await comm.receive_from(timeout=10))
    answer = await Message.objects.aget(conversation=conversation, role="assistant")
    while not tab.text.get(answer.pk):
        tab.apply(await comm.receive_from(timeout=30))
    browser_first_text = time.monotonic()
    await tab.follow(comm, answer.pk, {"done"})
    await comm.disconnect()
    await sync_to_async(thread.join)(120)

    # The browser user's answer began while the API answer was still being written.
    assert api["first"] < browser_first_text < api["last"]
