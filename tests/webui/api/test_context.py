"""A prompt past the context is the client's error (400), unless it lets turns go; the
system fingerprint; OpenAI's error shape for every status the API sends."""

import json
import re
import urllib.error
import urllib.request

import openai
import pytest
from django.test import RequestFactory

from tests.streams import make_user
from webui.api.models import ApiKey
from webui.api.shapes import engine_version
from webui.api.views import _api_view
from webui.chat.models import Message

live = pytest.mark.django_db(transaction=True)

# About 6,000 tokens: more than the session's worker holds (it loads the bundled model with
# its registered context, 4,096 tokens, before a test's fixture changes the row).
LONG = "The quick brown fox jumps over the lazy dog. " * 600


@pytest.fixture
def api(asgi_server, live_worker, bundled_model):
    _, raw = ApiKey.issue(user=make_user("carl"), name="tests")
    return openai.OpenAI(base_url=f"{asgi_server}/v1", api_key=raw, max_retries=0, timeout=120)


@live
@pytest.mark.worker
@pytest.mark.parametrize("stream", [False, True])
def test_a_prompt_past_the_context_is_a_400_naming_the_sizes(api, stream):
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(
            model="smollm2",
            messages=[{"role": "user", "content": LONG}],
            max_tokens=8,
            stream=stream,
        )
    error = caught.value.body
    assert error["code"] == "context_length_exceeded"
    prompt, context = [int(n) for n in re.findall(r"\d+", error["message"].replace(",", ""))]
    assert prompt > context >= 2048, error["message"]
    answer = Message.objects.get(role="assistant")
    assert (answer.status, answer.error_code) == ("failed", "context_length_exceeded")


@live
@pytest.mark.worker
def test_turns_too_long_together_are_refused_unless_the_request_lets_them_go(api):
    history = []
    for n in range(4):
        history += [
            {"role": "user", "content": f"Story part {n}: " + LONG[:9000]},
            {"role": "assistant", "content": "Noted."},
        ]
    messages = [*history, {"role": "user", "content": "Say yes."}]
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model="smollm2", messages=messages, max_tokens=4)
    assert caught.value.body["code"] == "context_length_exceeded"
    reply = api.chat.completions.create(
        model="smollm2", messages=messages, max_tokens=4, extra_body={"truncation": "auto"}
    )
    assert reply.choices[0].message.content
    assert reply.usage.prompt_tokens < 4096
    assert Message.objects.filter(role="assistant").last().truncated_turns > 0


@live
@pytest.mark.worker
def test_every_response_and_chunk_carries_the_system_fingerprint(api, bundled_model):
    bundled_model.refresh_from_db()
    expected = f"hf-{(bundled_model.sha256 or 'unhashed')[:12]}-{engine_version()}"
    assert re.fullmatch(r"hf-([0-9a-f]{12}|unhashed)-\d+\.\d+\.\d+", expected)
    chat = api.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": "Hi"}], max_tokens=3
    )
    text = api.completions.create(model="smollm2", prompt="Hi", max_tokens=3)
    chunks = list(api.completions.create(model="smollm2", prompt="Hi", max_tokens=3, stream=True))
    assert {chat.system_fingerprint, text.system_fingerprint} == {expected}
    assert {c.system_fingerprint for c in chunks} == {expected}


def _post(url: str, body: bytes, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@live
@pytest.mark.worker
def test_413_and_500_come_in_openais_shape(asgi_server, live_worker, bundled_model):
    _, key = ApiKey.issue(user=make_user("ivy"), name="tests")
    url = f"{asgi_server}/v1/chat/completions"
    big = json.dumps(
        {"model": "smollm2", "messages": [{"role": "user", "content": "x" * 1_100_000}]}
    )
    status, body = _post(url, big.encode(), key)
    assert (status, body["error"]["code"]) == (413, "request_too_large")
    assert set(body["error"]) == {"message", "type", "param", "code"}
    # A token the model's vocabulary does not have: the worker refuses the answer.
    failing = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": "Hi"}],
        "logit_bias": {"99999999": 5},
    }
    status, body = _post(url, json.dumps(failing).encode(), key)
    assert (status, body["error"]["code"], body["error"]["type"]) == (
        500,
        "generation_failed",
        "server_error",
    )
    assert "99999999" in body["error"]["message"]


@pytest.mark.django_db  # not among the non-database tests, run after the browser ones
async def test_an_unexpected_failure_is_a_json_500():
    async def broken(request):
        raise RuntimeError("boom")

    broken.methods = ("GET",)
    response = await _api_view(broken)(RequestFactory().get("/v1/x"))
    body = json.loads(response.content)["error"]
    assert (response.status_code, body["code"], body["type"]) == (
        500,
        "internal_error",
        "server_error",
    )
    assert "boom" not in body["message"]
