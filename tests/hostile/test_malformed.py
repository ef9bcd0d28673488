"""Malformed input where a member can send it: a clear refusal, never a 500 or a 1011."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from tests.hostile.conftest import Owned
from tests.hostile.tally import tried
from tests.streams import communicator, session_cookie
from webui.chat.models import Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True)]

DEEP = 100_000


@pytest.fixture
def owned_rows(quick_model):
    return Owned(quick_model)


def test_sidebar_pages_out_of_range_are_refused_or_empty(owned_rows):
    client = Client(raise_request_exception=False)
    client.force_login(owned_rows.alice)
    for page in [
        "10**20",
        str(10**20),
        str(2**63),
        "9" * 5000,
        "-1",
        "0",
        "abc",
        "1e3",
        "",
        "²",
        " 2",
    ]:
        response = client.get("/sidebar/", {"page": page})
        tried("input")
        assert response.status_code in (200, 400), (page, response.status_code)
        if response.status_code == 200 and page.isdigit() and len(page) > 9:
            assert f"/c/{owned_rows.conversation.pk}/" not in response.text, page
    # The pages the sidebar asks for still work.
    assert client.get("/sidebar/", {"page": "1"}).status_code == 200


def test_deeply_nested_json_on_the_api_gets_an_openai_error(owned_rows):
    client = Client(raise_request_exception=False)
    auth = {"Authorization": f"Bearer {owned_rows.raw_key}"}
    bodies = [
        "[" * DEEP + "]" * DEEP,
        '{"a":' * DEEP + "1" + "}" * DEEP,
        '{"model": "hostile-idle", "messages": ' + "[" * DEEP + "]" * DEEP + "}",
    ]
    for path in ("/v1/chat/completions", "/v1/completions"):
        for body in bodies:
            response = client.post(path, body, content_type="application/json", headers=auth)
            tried("input")
            assert response.status_code == 400, (path, body[:20], response.status_code)
            error = response.json()["error"]
            assert error["type"] == "invalid_request_error"
            assert "nested" in error["message"], error


async def _reply(comm) -> dict:
    """The socket's answer to a frame: an error for the composer, or a close."""
    while True:
        output = await comm.receive_output(timeout=5)
        if output["type"] != "websocket.send" or 'id="composer-error"' in output["text"]:
            return output


async def test_a_frame_that_is_not_an_object_gets_an_error_not_a_crash(owned_rows):
    cookie = await sync_to_async(session_cookie)(owned_rows.alice)
    comm = communicator(f"/ws/conversations/{owned_rows.conversation.pk}/", cookie=cookie)
    assert (await comm.connect())[0]
    count = await Message.objects.acount()
    frames = [
        json.dumps([1, 2]),
        "42",
        '"send"',
        "null",
        "true",
        "[" * DEEP + "]" * DEEP,
        '{"content":' + "[" * DEEP + "]" * DEEP + "}",
        json.dumps({"action": []}),
        json.dumps({"action": {"send": 1}}),
        json.dumps({"action": None, "content": "x"}),
        '{"action": "stop", "message_id": Infinity}',
        '{"action": "stop", "message_id": 1e400}',
        '{"action": "stop", "message_id": NaN}',
        '{"action": "regenerate", "message_id": -Infinity}',
        '{"action": "regenerate", "message_id": 1, "earlier": 1e400}',
    ]
    for frame in frames:
        await comm.send_to(text_data=frame)
        tried("input")
        reply = await _reply(comm)
        assert reply["type"] == "websocket.send", (frame[:40], reply)
    # Still open, still answering.
    await comm.send_to(text_data=json.dumps({"action": "stop", "message_id": 0}))
    assert "not yours to stop" in (await _reply(comm))["text"]
    await comm.disconnect()
    assert await Message.objects.acount() == count
