"""Oversized and malformed input: refused with a reason that names it, and nothing stored."""

import json
import math

import pytest
from django.conf import settings
from django.test import Client

from tests.hostile.tally import tried
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]


def _stored() -> tuple[int, int]:
    return Conversation.objects.count(), Message.objects.count()


def test_oversized_message_from_the_page_is_refused_and_kept_in_the_composer(owned):
    client = Client()
    client.force_login(owned.alice)
    before = _stored()
    limit = settings.HOMEFIRE["MAX_MESSAGE_CHARS"]
    for content in ("z" * (limit + 1), "z" * 1_000_000):
        response = client.post("/c/new/", {"content": content})
        tried("input")
        assert response.status_code == 400
        assert f"the limit is {limit:,}" in response.content.decode()
    response = client.post(f"/c/{owned.conversation.pk}/rename/", {"title": "t" * 10_000})
    tried("input")
    assert response.status_code == 400
    assert _stored() == before


def _post(client, key: str, path: str, body: bytes):
    return client.post(
        path, body, content_type="application/json", headers={"Authorization": f"Bearer {key}"}
    )


def test_api_body_over_a_megabyte_is_refused(owned):
    client = Client()
    before = _stored()
    for size in (1_100_000, 3_000_000, 30_000_000):
        message = {"role": "user", "content": "a" * size}
        body = json.dumps({"model": "smollm2", "messages": [message]}).encode()
        for path in ("/v1/chat/completions", "/v1/completions"):
            response = _post(client, owned.raw_key, path, body)
            tried("input")
            assert response.status_code == 413, response.content[:300]
            assert "larger than 1,000,000 bytes" in response.json()["error"]["message"]
    assert _stored() == before


BASE = {"model": "smollm2", "messages": [{"role": "user", "content": "hi"}]}
BAD_PARAMETERS = [
    ("temperature", -1),
    ("temperature", 1e308),
    ("temperature", "hot"),
    ("temperature", True),
    ("temperature", [0.5]),
    ("top_p", -0.1),
    ("top_p", 2),
    ("top_p", {"p": 1}),
    ("max_tokens", -5),
    ("max_tokens", 0),
    ("max_tokens", 10**30),
    ("max_tokens", 1.5),
    ("max_tokens", "100"),
    ("max_completion_tokens", -1),
    ("max_completion_tokens", 2**63),
    ("seed", -1),
    ("seed", 2**64),
    ("seed", "random"),
    ("stop", ["a", "b", "c", "d", "e"]),
    ("stop", ""),
    ("stop", ["x" * 500]),
    ("stop", 7),
    ("stream", "yes"),
    ("stream_options", {"include_usage": True, "evil": 1}),
    ("n", 9),
    ("n", -1),
    ("n", 1.5),
    ("store", "true"),
    ("messages", []),
    ("messages", "hi"),
    ("messages", [{"role": "root", "content": "hi"}]),
    ("messages", [{"role": "user", "content": {"nested": True}}]),
    ("model", ""),
    ("model", 42),
    ("logit_bias", {"1": 101}),
    ("logit_bias", {"token": 1}),
    ("logit_bias", [1]),
    ("frequency_penalty", 3),
    ("presence_penalty", "high"),
    ("top_logprobs", 21),
    ("logprobs", "yes"),
    ("functions", "clock"),
    ("tools", [{"type": "function", "function": {"name": "no spaces allowed"}}]),
    ("tool_choice", "always"),
    ("response_format", {"type": "xml"}),
    ("truncation", "sometimes"),
    ("__proto__", {}),
]


@pytest.mark.parametrize(("name", "value"), BAD_PARAMETERS)
def test_bad_chat_parameters_get_400_naming_them(owned, name, value):
    client = Client()
    before = _stored()
    body = json.dumps({**BASE, name: value}).encode()
    response = _post(client, owned.raw_key, "/v1/chat/completions", body)
    tried("input")
    assert response.status_code == 400, (name, value, response.content[:300])
    error = response.json()["error"]
    assert (error["param"] or "").split("[")[0] == name, error
    assert _stored() == before


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("name", ["temperature", "top_p", "max_tokens", "seed"])
def test_nan_and_infinity_are_refused(owned, name, constant):
    client = Client()
    before = _stored()
    body = json.dumps(BASE)[:-1] + f', "{name}": {constant}}}'
    response = _post(client, owned.raw_key, "/v1/chat/completions", body.encode())
    tried("input")
    assert response.status_code == 400
    assert "Invalid number" in response.json()["error"]["message"]
    assert _stored() == before


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[]",
        b'"text"',
        b"{",
        b"\xff\xfe",
        b'{"model": "smollm2", "prompt": 5}',
        b'{"model": "smollm2", "prompt": ["a", "b"]}',
        b'{"model": "smollm2", "prompt": ""}',
    ],
)
def test_malformed_completion_bodies_get_400(owned, body):
    client = Client()
    before = _stored()
    response = _post(client, owned.raw_key, "/v1/completions", body)
    tried("input")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["message"]
    assert _stored() == before


def test_nan_temperature_as_a_python_float_is_refused(owned):
    # json.dumps writes float("nan") as NaN: the same check as above, through a client library.
    client = Client()
    body = json.dumps({**BASE, "temperature": math.nan}).encode()
    tried("input")
    assert _post(client, owned.raw_key, "/v1/chat/completions", body).status_code == 400
