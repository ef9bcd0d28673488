"""Tools: answers read back as calls on both paths, the history as each path's template
wants it, and the round trip with the official SDK against the real server and model."""

import json
import random
from pathlib import Path

import openai
import pytest

from tests.conftest import model_of_its_own
from tests.streams import make_user
from webui.api.models import ApiKey
from webui.api.tool_calls import Arguments, CallReader, CallStart, Content
from webui.api.tools import tool_path
from webui.chat.models import Conversation, Message
from webui.chat.tool_turns import with_tools
from webui.registry.models import LLMModel


def _read(path: str, text: str, pieces: int, seed: int = 0, **options):
    """Feed the text in `pieces` random pieces; return the events and the reading."""
    cuts = sorted(random.Random(seed).sample(range(1, len(text)), pieces - 1)) if pieces > 1 else []
    reader, events = CallReader(path, **options), []
    for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        events += reader.feed(text[start:end])
    events += reader.finish()
    return events, reader.reading()


def _joined(events):
    """What a client that joins the stream's pieces ends up with."""
    content = "".join(e.text for e in events if isinstance(e, Content))
    calls = {}
    for event in events:
        if isinstance(event, CallStart):
            calls[event.index] = {"id": event.id, "name": event.name, "arguments": ""}
        elif isinstance(event, Arguments):
            calls[event.index]["arguments"] += event.text
    return content, [calls[i] for i in sorted(calls)]


GENERIC_CALLS = (
    '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Zürich \\"Nord\\"", '
    '"days": [1, 2]}}, {"name": "get_time", "arguments": {}}]}'
)
NATIVE_CALLS = (
    "I will look.\n<tool_call>\n"
    '{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "get_time", "arguments": {"zone": "UTC"}}\n</tool_call>'
)


@pytest.mark.parametrize("pieces", [1, 2, 7, 40])
@pytest.mark.parametrize(("path", "text"), [("generic", GENERIC_CALLS), ("native", NATIVE_CALLS)])
def test_calls_streamed_in_any_pieces_join_to_the_whole_reading(path, text, pieces):
    events, reading = _read(path, text, pieces, seed=pieces)
    content, calls = _joined(events)
    assert [c["function"]["name"] for c in reading.calls] == ["get_weather", "get_time"]
    for joined, whole in zip(calls, reading.calls, strict=True):
        assert (joined["id"], joined["name"]) == (whole["id"], whole["function"]["name"])
        assert joined["arguments"] == whole["function"]["arguments"]
        json.loads(whole["function"]["arguments"])
        assert whole["id"].startswith("call_")
    assert (content or None) == reading.content


def test_a_generic_reply_streams_as_its_text():
    events, reading = _read("generic", '{"response": "Caf\\u00e9 \\ud83d\\ude00 \\"ok\\""}', 23)
    assert reading == type(reading)('Café 😀 "ok"', [])
    assert "".join(e.text for e in events) == 'Café 😀 "ok"'


def test_native_text_without_calls_is_content_even_when_it_looks_like_a_tag():
    events, reading = _read("native", "Use <b>bold</b> or <tool_c", 9)
    assert reading.content == "Use <b>bold</b> or <tool_c" and not reading.calls
    assert not [e for e in events if not isinstance(e, Content)]


def test_one_call_at_most_without_parallel_calls():
    _, reading = _read("native", NATIVE_CALLS, 5, max_calls=1)
    assert [c["function"]["name"] for c in reading.calls] == ["get_weather"]


HISTORY = [
    {"role": "system", "content": "Be brief.", "api_fields": None},
    {"role": "user", "content": "Weather in Oslo and Rome?", "api_fields": None},
    {
        "role": "assistant",
        "content": "",
        "api_fields": {
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"c": "Oslo"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"c": "Rome"}'},
                },
            ]
        },
    },
    {"role": "tool", "content": "Snow", "api_fields": {"tool_call_id": "c1"}},
    {"role": "tool", "content": "Sun", "api_fields": {"tool_call_id": "c2"}},
]
TOOLS = [{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}]


def test_the_generic_path_writes_calls_and_results_as_json_turns():
    turns = with_tools(HISTORY, {"tool_format": "generic", "tools": TOOLS, "tool_choice": "auto"})
    assert [t["role"] for t in turns] == ["system", "user", "assistant", "user"]
    assert turns[0]["content"].startswith("Be brief.\n\nYou can call these tools:")
    assert "`tool_calls`" in turns[0]["content"] and "`response`" in turns[0]["content"]
    assert json.loads(turns[2]["content"]) == {
        "tool_calls": [
            {"name": "w", "arguments": {"c": "Oslo"}},
            {"name": "w", "arguments": {"c": "Rome"}},
        ]
    }
    results = [json.loads(line)["tool_response"] for line in turns[3]["content"].split("\n")]
    assert results == [
        {"tool": "w", "tool_call_id": "c1", "content": "Snow"},
        {"tool": "w", "tool_call_id": "c2", "content": "Sun"},
    ]


def test_the_native_path_hands_the_template_calls_and_results():
    turns = with_tools(HISTORY, {"tool_format": "native", "tools": TOOLS})
    assert turns[2]["tool_calls"][1]["function"] == {"name": "w", "arguments": {"c": "Rome"}}
    assert turns[3] == {"role": "tool", "content": "Snow", "tool_call_id": "c1"}
    assert turns[0] == {"role": "system", "content": "Be brief."}


# A Hermes-style template (as Qwen 2.5's): tools in the system turn, calls in <tool_call>
# blocks, results in <tool_response> blocks of a user turn.
HERMES_TEMPLATE = (Path(__file__).parent / "hermes_template.jinja").read_text()


@pytest.mark.django_db
def test_the_path_follows_the_template(bundled_model):
    assert tool_path(bundled_model) == "generic"  # SmolLM2's own template
    hermes = LLMModel(path=bundled_model.path, chat_template=HERMES_TEMPLATE)
    assert tool_path(hermes) == "native"


# With the real server, worker and model.

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city's name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
QUESTION = [{"role": "user", "content": "What is the weather like in Paris today?"}]


@pytest.fixture
def api(asgi_server, live_worker, bundled_model):
    _, raw = ApiKey.issue(user=make_user("tina"), name="tests")
    return openai.OpenAI(base_url=f"{asgi_server}/v1", api_key=raw, max_retries=0, timeout=120)


def _valid_weather_call(call) -> dict:
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert set(arguments) == {"city", "unit"} and arguments["unit"] in {"celsius", "fahrenheit"}
    return arguments


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_required_gives_a_valid_call_and_the_round_trip_ends_in_an_answer(api):
    reply = api.chat.completions.create(
        model="smollm2",
        messages=QUESTION,
        tools=[WEATHER],
        tool_choice="required",
        temperature=0,
        max_tokens=100,
    )
    choice = reply.choices[0]
    assert (choice.finish_reason, choice.message.content) == ("tool_calls", None)
    _valid_weather_call(choice.message.tool_calls[0])
    # The client runs the tool and sends its result back, as the SDK's docs show.
    messages = [
        *QUESTION,
        choice.message.model_dump(exclude_none=True),
        {
            "role": "tool",
            "tool_call_id": choice.message.tool_calls[0].id,
            "content": "Sunny, 24 degrees celsius.",
        },
    ]
    final = api.chat.completions.create(
        model="smollm2", messages=messages, tools=[WEATHER], temperature=0, max_tokens=60
    )
    answer = final.choices[0]
    # Under `auto` the model chose to answer (at temperature 0 it does so every time).
    assert answer.finish_reason in {"stop", "length"} and answer.message.content
    assert not answer.message.tool_calls
    stored = Conversation.objects.order_by("id").last()
    rows = list(stored.messages.order_by("id"))
    assert [m.role for m in rows] == ["user", "assistant", "tool", "assistant"]
    assert rows[1].api_fields["tool_calls"][0]["function"]["name"] == "get_weather"
    assert rows[2].api_fields == {"tool_call_id": choice.message.tool_calls[0].id}
    assert rows[3].sampling["tool_format"] == "generic"


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_streamed_call_comes_as_openai_streams_it(api):
    stream = api.chat.completions.create(
        model="smollm2",
        messages=QUESTION,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0,
        max_tokens=100,
        stream=True,
    )
    chunks = [c for c in stream if c.choices]
    deltas = [c.choices[0].delta for c in chunks]
    calls = [d.tool_calls[0] for d in deltas if d.tool_calls]
    first = calls[0]
    assert (first.index, first.type, first.function.name, first.function.arguments) == (
        0,
        "function",
        "get_weather",
        "",
    )
    assert first.id.startswith("call_")
    assert len(calls) > 2, "the arguments come in pieces as they are written"
    assert all(c.id is None and c.function.name is None for c in calls[1:])
    arguments = "".join(c.function.arguments for c in calls)
    assert set(json.loads(arguments)) == {"city", "unit"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert not any(d.content for d in deltas)
    assert all(c.system_fingerprint.startswith("hf-") for c in chunks)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_the_round_trip_streamed(api):
    first = api.chat.completions.create(
        model="smollm2",
        messages=QUESTION,
        tools=[WEATHER],
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=0,
        max_tokens=100,
        stream=True,
    )
    calls = [
        c.choices[0].delta.tool_calls[0]
        for c in first
        if c.choices and c.choices[0].delta.tool_calls
    ]
    call_id, name = calls[0].id, calls[0].function.name
    arguments = "".join(c.function.arguments for c in calls)
    messages = [
        *QUESTION,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "Rain, 12 degrees celsius."},
    ]
    final = api.chat.completions.create(
        model="smollm2",
        messages=messages,
        tools=[WEATHER],
        tool_choice="none",
        temperature=0,
        max_tokens=40,
        stream=True,
    )
    chunks = [c for c in final if c.choices]
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text and chunks[-1].choices[0].finish_reason in {"stop", "length"}
    assert not any(c.choices[0].delta.tool_calls for c in chunks)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_deprecated_functions_get_a_function_call(api):
    reply = api.chat.completions.create(
        model="smollm2",
        messages=QUESTION,
        functions=[WEATHER["function"]],
        function_call={"name": "get_weather"},
        temperature=0,
        max_tokens=100,
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "function_call" and not choice.message.tool_calls
    assert choice.message.function_call.name == "get_weather"
    assert set(json.loads(choice.message.function_call.arguments)) == {"city", "unit"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_template_with_tools_renders_them_and_its_calls_are_read(
    asgi_server, bundled_model, start_worker
):
    """The native path, with a Hermes-style override on the bundled weights."""
    hermes = model_of_its_own(bundled_model, "hermes", chat_template=HERMES_TEMPLATE)
    hermes.full_clean()
    start_worker(hermes.slug)
    _, raw = ApiKey.issue(user=make_user("hana"), name="tests")
    api = openai.OpenAI(base_url=f"{asgi_server}/v1", api_key=raw, max_retries=0, timeout=120)
    plain = api.chat.completions.create(
        model=hermes.slug, messages=QUESTION, temperature=0, max_tokens=1
    )
    reply = api.chat.completions.create(
        model=hermes.slug,
        messages=QUESTION,
        tools=[WEATHER],
        tool_choice="required",
        temperature=0,
        max_tokens=100,
    )
    # The template wrote the tool's definition into the prompt.
    assert reply.usage.prompt_tokens > plain.usage.prompt_tokens + 60
    answer = Message.objects.filter(model=hermes, role="assistant").order_by("id").last()
    assert answer.sampling["tool_format"] == "native"
    assert answer.content.startswith("<tool_call>") and answer.content.endswith("</tool_call>")
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    _valid_weather_call(choice.message.tool_calls[0])
    # The result goes back as the template wants it: inside <tool_response> in a user turn.
    messages = [
        *QUESTION,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": choice.message.tool_calls[0].id, "content": "Sunny."},
    ]
    final = api.chat.completions.create(
        model=hermes.slug,
        messages=messages,
        tools=[WEATHER],
        tool_choice="none",
        temperature=0,
        max_tokens=30,
    )
    assert final.choices[0].message.content
    # Without the tools (tool_choice none), with the call and its result.
    assert plain.usage.prompt_tokens + 20 < final.usage.prompt_tokens < reply.usage.prompt_tokens


def test_a_calls_start_and_its_first_arguments_come_in_chunks_of_their_own():
    """When one piece of text holds a call's name and the start of its arguments, the
    stream sends them as OpenAI does: a chunk per piece of a call, never two pieces of one
    call in a chunk (a client reading `tool_calls[0]` of each chunk lost the arguments'
    start: a test that streamed a call failed about one run in four)."""
    from types import SimpleNamespace

    from webui.api.generation import Update
    from webui.api.shapes import ChatShape

    run = SimpleNamespace(model=SimpleNamespace(sha256="ab" * 32), legacy=False)
    shape = ChatShape("chatcmpl-1", 0, SimpleNamespace(model="m"), run)
    events = [
        CallStart(0, "call_a", "get_weather"),
        Arguments(0, '{"city'),
        CallStart(1, "call_b", "get_time"),
        Arguments(1, "{}"),
    ]
    chunks = shape.chunks(Update(0, events))
    pieces = [chunk["choices"][0]["delta"]["tool_calls"] for chunk in chunks]
    assert [[(p["index"], p["function"]["arguments"]) for p in piece] for piece in pieces] == [
        [(0, "")],
        [(0, '{"city'), (1, "")],
        [(1, "{}")],
    ]
