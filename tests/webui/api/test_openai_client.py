"""The API through the official openai client and plain HTTP, against the real server."""

import json
import urllib.error
import urllib.request

import openai
import pytest

from tests.streams import make_user
from webui.api.models import ApiKey
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def api(asgi_server, live_worker, bundled_model):
    _, raw = ApiKey.issue(user=make_user("alice"), name="tests")
    return openai.OpenAI(base_url=f"{asgi_server}/v1", api_key=raw, max_retries=0, timeout=60)


def test_models_lists_enabled_models(api):
    assert [m.id for m in api.models.list().data] == ["smollm2"]


def test_retrieve_one_model_and_a_missing_one(api):
    model = api.models.retrieve("smollm2")
    assert (model.id, model.object) == ("smollm2", "model")
    with pytest.raises(openai.NotFoundError) as caught:
        api.models.retrieve("gpt-4")
    assert caught.value.body["code"] == "model_not_found"


def test_no_op_parameters_as_langchain_sends_them(api):
    reply = api.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Say hi."}],
        max_tokens=4,
        frequency_penalty=0,
        presence_penalty=0,
        logprobs=None,
        response_format={"type": "text"},
        user="ci",
    )
    assert reply.choices[0].message.content
    text = api.completions.create(
        model="smollm2", prompt="1, 2,", max_tokens=4, frequency_penalty=0, logprobs=None, n=1
    )
    assert text.choices[0].text
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": "x"}], reasoning_effort="high"
        )
    assert caught.value.body["param"] == "reasoning_effort"
    assert caught.value.body["code"] == "unsupported_parameter"


def test_chat_completion_with_usage_and_no_history_entry(api):
    reply = api.chat.completions.create(
        model="smollm2",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello."},
        ],
        temperature=0,
        max_tokens=12,
    )
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason in {"stop", "length"}
    assert reply.usage.completion_tokens <= 12 and reply.usage.prompt_tokens > 0
    conversation = Conversation.objects.get()
    assert conversation.source == "api"
    assert list(conversation.messages.values_list("role", flat=True)) == [
        "system",
        "user",
        "assistant",
    ]


def test_streaming_chat_matches_the_stored_answer(api):
    stream = api.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Write a haiku about the sea."}],
        temperature=0,
        max_tokens=30,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage.completion_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in {"stop", "length"}
    assert text == Message.objects.get(role="assistant").content


def test_plain_completion_and_stop_sequence(api):
    reply = api.completions.create(
        model="smollm2", prompt="1, 2, 3, 4,", max_tokens=20, temperature=0, stop=["7"]
    )
    assert "7" not in reply.choices[0].text
    assert reply.usage.completion_tokens > 0


def test_error_classes(api, asgi_server, bundled_model):
    bad = openai.OpenAI(base_url=f"{asgi_server}/v1", api_key="hf_nope_nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    with pytest.raises(openai.NotFoundError) as caught:
        api.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": "x"}], temperature=5
        )
    assert caught.value.body["param"] == "temperature"
    from webui.registry.models import LLMModel

    LLMModel.objects.create(name="Idle", slug="idle", path="/nowhere.gguf")
    with pytest.raises(openai.InternalServerError) as caught:
        api.chat.completions.create(model="idle", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 503


def test_too_many_requests_at_once_is_429(api, settings):
    owner = ApiKey.objects.get().user
    conversation = Conversation.objects.create(owner=owner, source="api")
    for _ in range(4):
        Message.objects.create(
            conversation=conversation, role="assistant", status="queued", sampling={"via": "api"}
        )
    with pytest.raises(openai.RateLimitError) as caught:
        api.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "x"}])
    assert int(caught.value.response.headers["Retry-After"]) >= 1


def test_plain_http_errors_are_openai_json(asgi_server, live_worker, bundled_model):
    request = urllib.request.Request(
        f"{asgi_server}/v1/chat/completions",
        data=b"{",
        method="POST",
        headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 401
    body = json.loads(caught.value.read())
    assert body["error"]["code"] == "invalid_api_key"
    for method, path, status, code in [
        ("GET", "/v1/embeddings", 405, "method_not_allowed"),
        ("GET", "/v1/chat/completions", 405, "method_not_allowed"),
    ]:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(
                urllib.request.Request(f"{asgi_server}{path}", method=method), timeout=10
            )
        error = json.loads(caught.value.read())["error"]
        assert (caught.value.code, error["code"]) == (status, code)


def test_client_that_disconnects_stops_the_answer(api, bundled_model):
    bundled_model.max_tokens = 400
    bundled_model.save()
    # Greedy: this story runs to the 400 tokens; sampled, it was 5 tokens long once in 20,
    # and ended before the client could leave.
    stream = api.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Tell a very long story."}],
        stream=True,
        temperature=0,
    )
    for index, _ in enumerate(stream):
        if index == 3:
            break
    stream.close()
    from tests.conftest import wait_for

    answer = wait_for(
        lambda: (
            (m := Message.objects.get(role="assistant")).status not in {"queued", "streaming"} and m
        ),
        timeout=30,
        message="the answer to end",
    )
    assert (answer.status, answer.completion_tokens < 400) == ("stopped", True), answer.content


def test_store_true_keeps_the_conversation_in_the_users_history(api):
    api.chat.completions.create(
        model="smollm2",
        store=True,
        max_tokens=4,
        messages=[{"role": "user", "content": "Remember this chat"}],
    )
    conversation = Conversation.objects.get()
    assert (conversation.source, conversation.title) == ("chat", "Remember this chat")
