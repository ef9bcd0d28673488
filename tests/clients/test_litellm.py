"""LiteLLM with its `openai/` provider pointed at Homefire, as its documentation says for an
OpenAI-compatible server, and otherwise its default settings."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import litellm
import pytest

from webui.chat.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _settings(homefire) -> dict:
    return {
        "model": f"openai/{homefire.model}",
        "api_base": homefire.base_url,
        "api_key": homefire.key,
    }


def test_completion_plain_and_streamed(homefire):
    reply = litellm.completion(
        **_settings(homefire), messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    assert reply.choices[0].message.content
    assert reply.usage.completion_tokens == Message.objects.get(role="assistant").completion_tokens
    stream = litellm.completion(
        **_settings(homefire),
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert text == Message.objects.filter(role="assistant").last().content != ""


def test_text_completion(homefire):
    reply = litellm.text_completion(
        model=f"text-completion-openai/{homefire.model}",
        api_base=homefire.base_url,
        api_key=homefire.key,
        prompt="1, 2, 3,",
        max_tokens=6,
    )
    assert reply.choices[0].text
    assert Message.objects.get(role="assistant").sampling.get("raw") is True


def test_async_completions_at_once(homefire):
    async def everyone():
        return await asyncio.gather(
            *(
                litellm.acompletion(
                    **_settings(homefire),
                    messages=[{"role": "user", "content": f"Tell story number {index}."}],
                    max_tokens=8,
                )
                for index in range(8)
            )
        )

    # In a thread of its own: the browser tests leave an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        replies = pool.submit(lambda: asyncio.run(everyone())).result(timeout=600)
    assert all(reply.choices[0].message.content for reply in replies)


def test_responses(homefire):
    reply = litellm.responses(**_settings(homefire), input="Say hi.", max_output_tokens=8)
    assert reply.output[0].content[0].text
    assert reply.id.startswith("resp_")


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 20}},
            "required": ["city"],
        },
    },
}


def test_tools_round_trip(homefire):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = litellm.completion(
        **_settings(homefire),
        messages=messages,
        tools=[WEATHER_TOOL],
        tool_choice="required",
        parallel_tool_calls=False,  # as in test_openai_python.py (ONE_CALL)
    )
    calls = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls" and calls
    for call in calls:  # one or more: parallel_tool_calls defaults to true
        assert call.function.name == "get_weather"
        assert isinstance(json.loads(call.function.arguments)["city"], str)
    messages += [
        first.choices[0].message.model_dump(),
        *({"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 °C."} for call in calls),
    ]
    final = litellm.completion(
        **_settings(homefire), messages=messages, tools=[WEATHER_TOOL], tool_choice="none"
    )
    assert final.choices[0].message.content and not final.choices[0].message.tool_calls
    stored = Message.objects.filter(role="tool").order_by("id")
    assert [m.api_fields["tool_call_id"] for m in stored] == [call.id for call in calls]


def test_response_format_json_schema(homefire):
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    reply = litellm.completion(
        **_settings(homefire),
        messages=[{"role": "user", "content": "Invent a person: a name and an age."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": schema, "strict": True},
        },
    )
    person = json.loads(reply.choices[0].message.content)
    assert set(person) == {"name", "age"}
    assert isinstance(person["name"], str) and isinstance(person["age"], int)


def test_embedding(homefire, embedding_model):
    reply = litellm.embedding(
        model=f"openai/{embedding_model}",
        api_base=homefire.base_url,
        api_key=homefire.key,
        input=["A man is eating food.", "The new movie is awesome."],
    )
    assert [item["index"] for item in reply.data] == [0, 1]
    assert all(len(item["embedding"]) == 384 for item in reply.data)
    assert reply.usage.prompt_tokens > 0
