"""The official openai Python SDK with its default settings (two retries, its timeouts)."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from pydantic import BaseModel, Field

from webui.chat.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def client(homefire, monkeypatch):
    # As its documentation says: the two variables, and nothing else.
    monkeypatch.setenv("OPENAI_BASE_URL", homefire.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", homefire.key)
    return openai.OpenAI()


def test_chat_plain_and_streamed(client, homefire):
    reply = client.chat.completions.create(
        model=homefire.model, messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    assert reply.choices[0].message.content and reply.usage.total_tokens > 0
    stream = client.chat.completions.create(
        model=homefire.model,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == Message.objects.filter(role="assistant").last().content != ""


def test_legacy_completions(client, homefire):
    reply = client.completions.create(model=homefire.model, prompt="1, 2, 3,", max_tokens=6)
    assert reply.choices[0].text and reply.usage.completion_tokens <= 6


def test_models_list_and_retrieve(client, homefire):
    assert [m.id for m in client.models.list()] == [homefire.model]
    assert client.models.retrieve(homefire.model).id == homefire.model
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_responses_plain_streamed_and_continued(client, homefire):
    first = client.responses.create(
        model=homefire.model, instructions="Be brief.", input="Say hi.", max_output_tokens=8
    )
    assert first.output_text and first.id.startswith("resp_")
    events = list(
        client.responses.create(
            model=homefire.model,
            input="Say hi.",
            max_output_tokens=8,
            previous_response_id=first.id,
            stream=True,
        )
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert events[0].type == "response.created"
    assert events[-1].response.output_text == deltas != ""
    assert client.responses.retrieve(first.id).output_text == first.output_text


def test_eight_parallel_calls_with_default_retries_all_succeed(client, homefire, caplog):
    # Twice the per-user cap (HOMEFIRE_API_MAX_ACTIVE=4), all at once: the last four wait
    # in line for a place (up to 10 s) instead of getting 429s at once; on a machine slow
    # enough that a place takes longer, the SDK's retries (after Retry-After) wait again.
    def ask(index: int) -> str:
        reply = client.chat.completions.create(
            model=homefire.model,
            messages=[{"role": "user", "content": f"Tell story number {index}."}],
            max_tokens=8,
        )
        return reply.choices[0].finish_reason

    caplog.set_level(logging.INFO, logger="openai")
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        reasons = list(pool.map(ask, range(8)))
    elapsed = time.monotonic() - started
    assert len(reasons) == 8 and set(reasons) <= {"stop", "length"}
    assert Message.objects.filter(role="assistant", status="done").count() == 8
    retries = [r for r in caplog.records if "Retrying request" in r.getMessage()]
    print(f"8 parallel calls: {elapsed:.1f} s, {len(retries)} retries")  # noqa: T201


class GetWeather(BaseModel):
    """Get the weather in a city."""

    city: str = Field(max_length=20)


class Person(BaseModel):
    name: str = Field(max_length=20)
    age: int


WEATHER = [{"role": "user", "content": "What is the weather in Paris?"}]
# ONE_CALL: the round trips ask for one call (parallel_tool_calls=False). Free to call in
# parallel, the tiny model sometimes repeats its call until the tests' bound of 48 tokens
# cuts it (finish_reason "length"); the code below takes any number of calls.


def test_tools_round_trip(client, homefire):
    tools = [openai.pydantic_function_tool(GetWeather)]  # strict, as the SDK writes it
    first = client.chat.completions.create(
        model=homefire.model,
        messages=WEATHER,
        tools=tools,
        tool_choice="required",
        parallel_tool_calls=False,  # see ONE_CALL
    )
    calls = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls" and calls
    for call in calls:  # one or more: parallel_tool_calls defaults to true
        assert call.id.startswith("call_") and call.function.name == "GetWeather"
        GetWeather.model_validate_json(call.function.arguments)
    results = [
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 °C."} for call in calls
    ]
    final = client.chat.completions.create(
        model=homefire.model,
        messages=[*WEATHER, first.choices[0].message, *results],
        tools=tools,
        tool_choice="none",
    )
    assert final.choices[0].message.content and not final.choices[0].message.tool_calls
    stored = Message.objects.filter(role="tool").order_by("id")
    assert [m.api_fields["tool_call_id"] for m in stored] == [call.id for call in calls]


def test_tools_round_trip_streamed(client, homefire):
    tools = [openai.pydantic_function_tool(GetWeather)]
    calls: dict[int, dict] = {}
    for chunk in client.chat.completions.create(
        model=homefire.model,
        messages=WEATHER,
        tools=tools,
        tool_choice="required",
        parallel_tool_calls=False,  # see ONE_CALL
        stream=True,
    ):
        for piece in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += piece.id or ""
            call["name"] += (piece.function and piece.function.name) or ""
            call["arguments"] += (piece.function and piece.function.arguments) or ""
    assert calls and list(calls) == list(range(len(calls)))
    for call in calls.values():
        assert call["name"] == "GetWeather" and call["id"].startswith("call_")
        GetWeather.model_validate_json(call["arguments"])
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            for call in calls.values()
        ],
    }
    results = [
        {"role": "tool", "tool_call_id": call["id"], "content": "Sunny, 21 °C."}
        for call in calls.values()
    ]
    stream = client.chat.completions.create(
        model=homefire.model, messages=[*WEATHER, assistant, *results], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == Message.objects.filter(role="assistant").last().content != ""


def test_parse_with_a_pydantic_model(client, homefire):
    completion = client.chat.completions.parse(
        model=homefire.model,
        messages=[{"role": "user", "content": "Invent a person: a name and an age."}],
        response_format=Person,
    )
    message = completion.choices[0].message
    assert isinstance(message.parsed, Person), message.content
    assert Person.model_validate_json(message.content) == message.parsed


def test_logprobs(client, homefire):
    reply = client.chat.completions.create(
        model=homefire.model,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        logprobs=True,
        top_logprobs=2,
    )
    entries = reply.choices[0].logprobs.content
    assert len(entries) == reply.usage.completion_tokens
    # A token that is part of a character has its bytes; `token` holds a replacement mark.
    pieces = bytes(byte for entry in entries for byte in entry.bytes)
    assert pieces.decode(errors="replace") == reply.choices[0].message.content
    for entry in entries:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 2
        assert entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob
        assert entry.top_logprobs[0].logprob >= entry.logprob


def test_two_choices(client, homefire):
    reply = client.chat.completions.create(
        model=homefire.model,
        messages=[{"role": "user", "content": "Tell me a story."}],
        max_tokens=8,
        n=2,
        temperature=1,
    )
    assert [choice.index for choice in reply.choices] == [0, 1]
    assert all(choice.message.content for choice in reply.choices)
    answers = Message.objects.filter(role="assistant", status="done")
    assert reply.usage.completion_tokens == sum(a.completion_tokens for a in answers)
    assert answers.count() == 2


def test_embeddings_as_floats_and_by_default_base64(client, embedding_model):
    texts = ["A man is eating food.", "A man is eating a piece of bread."]
    floats = client.embeddings.create(model=embedding_model, input=texts, encoding_format="float")
    default = client.embeddings.create(model=embedding_model, input=texts)  # base64, decoded
    for reply in (floats, default):
        assert [item.index for item in reply.data] == [0, 1]
        assert all(len(item.embedding) == 384 for item in reply.data)
        assert reply.usage.prompt_tokens > 0
    for a, b in zip(floats.data, default.data, strict=True):
        assert a.embedding == pytest.approx(b.embedding, abs=1e-6)
        assert sum(x * x for x in a.embedding) == pytest.approx(1, abs=1e-4)
