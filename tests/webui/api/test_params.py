import pytest

from webui.api.errors import ApiError
from webui.api.params import (
    KNOWN_CHAT,
    KNOWN_COMPLETION,
    chat_request,
    completion_request,
    parse_body,
)

BASE = {"model": "smollm2", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"temperature": -1}, "temperature"),
        ({"temperature": 1e308}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": 2}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"max_completion_tokens": -3}, "max_completion_tokens"),
        ({"seed": -1}, "seed"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stop": [""]}, "stop"),
        ({"n": 9}, "n"),
        ({"n": 0}, "n"),
        ({"stream": "yes"}, "stream"),
        ({"frobnicate": 1}, "frobnicate"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0]"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0]"),
        ({"model": ""}, "model"),
    ],
)
def test_bad_parameters_are_named(change, param):
    with pytest.raises(ApiError) as caught:
        chat_request({**BASE, **change})
    assert caught.value.param == param
    assert caught.value.status == 400


def test_nan_and_non_objects_are_refused():
    with pytest.raises(ApiError, match="Invalid number NaN"):
        parse_body(b'{"temperature": NaN}')
    with pytest.raises(ApiError, match="JSON object"):
        parse_body(b"[1, 2]")
    with pytest.raises(ApiError, match="not valid JSON"):
        parse_body(b"{")


def test_good_request_keeps_what_was_asked():
    req = chat_request(
        {
            **BASE,
            "temperature": 0,
            "max_completion_tokens": 9,
            "stop": "END",
            "seed": 7,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    assert req.sampling == {
        "temperature": 0.0,
        "max_tokens": 9,
        "stop": ["END"],
        "seed": 7,
        "truncation": "disabled",
    }
    assert req.stream and req.include_usage


def test_text_parts_are_joined_and_completions_are_raw():
    req = chat_request(
        {
            **BASE,
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                }
            ],
        }
    )
    assert req.messages[0]["content"] == "ab"
    plain = completion_request({"model": "m", "prompt": "Once upon"})
    assert plain.raw and plain.sampling["raw"] and plain.messages[0]["content"] == "Once upon"


NO_OPS = [
    {"frequency_penalty": 0, "presence_penalty": 0.0},
    {"logprobs": False, "top_logprobs": 0},
    {"response_format": {"type": "text"}},
    {"tools": [], "tool_choice": "none", "parallel_tool_calls": None},
    {"tools": None, "tool_choice": None, "parallel_tool_calls": False},
    {"logit_bias": {}},
    {"n": 1, "user": "build-bot 7"},
    {"stream_options": {"include_usage": False}},
    {"service_tier": "auto", "modalities": ["text"], "prompt_cache_key": "k"},
]


@pytest.mark.parametrize("change", NO_OPS)
def test_values_that_ask_for_nothing_are_accepted(change):
    req = chat_request({**BASE, **change})
    assert req.sampling == {"truncation": "disabled"}
    assert (req.n, req.tools, req.response_schema) == (1, None, None)


def test_null_means_not_given_for_every_optional_parameter():
    nulls = dict.fromkeys(KNOWN_CHAT - {"model", "messages"})
    req = chat_request({**BASE, **nulls})
    assert (req.sampling, req.stream, req.include_usage, req.store) == (
        {"truncation": "disabled"},
        False,
        False,
        False,
    )
    prompt = {"model": "m", "prompt": "Once"}
    nulls = dict.fromkeys(KNOWN_COMPLETION - {"model", "prompt"})
    assert completion_request({**prompt, **nulls}).sampling == {"raw": True}


def test_langchains_default_completion_body_is_accepted():
    body = {
        "model": "m",
        "prompt": ["Once"],
        "temperature": 0.7,
        "top_p": 1,
        "frequency_penalty": 0,
        "presence_penalty": 0,
        "n": 1,
        "logit_bias": {},
        "logprobs": None,
        "max_tokens": 256,
        "seed": None,
    }
    assert completion_request(body).sampling == {
        "temperature": 0.7,
        "top_p": 1.0,
        "max_tokens": 256,
        "raw": True,
    }


def test_features_are_kept_in_the_answers_settings():
    req = chat_request(
        {
            **BASE,
            "frequency_penalty": 0.5,
            "presence_penalty": -1,
            "repetition_penalty": 1.1,
            "logit_bias": {"50256": -100, 7: 5},
            "logprobs": True,
            "top_logprobs": 3,
            "n": 2,
            "truncation": "auto",
        }
    )
    assert req.sampling == {
        "frequency_penalty": 0.5,
        "presence_penalty": -1.0,
        "repeat_penalty": 1.1,
        "logit_bias": {"50256": -100.0, "7": 5.0},
        "logprobs": True,
        "top_logprobs": 3,
        "truncation": "auto",
    }
    assert req.n == 2


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"frequency_penalty": 2.5}, "frequency_penalty"),
        ({"frequency_penalty": True}, "frequency_penalty"),
        ({"repetition_penalty": 3}, "repetition_penalty"),
        ({"logit_bias": {"not-a-token": 1}}, "logit_bias"),
        ({"logit_bias": {"1": 101}}, "logit_bias"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"logprobs": "yes"}, "logprobs"),
        ({"truncation": "sometimes"}, "truncation"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"response_format": {"type": "json_schema"}}, "response_format"),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "a+"}},
                }
            },
            "response_format.json_schema.schema",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "bad name"}}]},
            "tools[0].function.name",
        ),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {
                "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": {"type": "function", "function": {"name": "g"}},
            },
            "tool_choice",
        ),
        ({"reasoning_effort": "high"}, "reasoning_effort"),
        ({"metadata": {"a": "b"}}, "metadata"),
    ],
)
def test_bad_feature_values_are_refused_by_name(change, param):
    with pytest.raises(ApiError) as caught:
        chat_request({**BASE, **change})
    assert (caught.value.param, caught.value.status) == (param, 400)


def test_a_schema_that_cannot_become_a_grammar_says_why():
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}}
    with pytest.raises(ApiError, match="'minimum' is not supported") as caught:
        chat_request(
            {**BASE, "response_format": {"type": "json_schema", "json_schema": {"schema": schema}}}
        )
    assert caught.value.code == "unsupported_schema"


def test_response_formats_give_their_schema():
    assert chat_request({**BASE, "response_format": {"type": "json_object"}}).response_schema == {
        "type": "object"
    }
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    described = {
        "type": "json_schema",
        "json_schema": {"name": "a", "schema": schema, "strict": True},
    }
    assert chat_request({**BASE, "response_format": described}).response_schema == schema


def test_tool_and_function_messages_keep_their_fields():
    messages = [
        {"role": "developer", "content": "Use tools."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
    ]
    req = chat_request({**BASE, "messages": messages})
    assert [m["role"] for m in req.messages] == ["system", "user", "assistant", "tool"]
    assert req.messages[2]["content"] == ""
    assert req.messages[2]["api_fields"]["tool_calls"][0]["function"]["name"] == "weather"
    assert req.messages[3]["api_fields"] == {"tool_call_id": "call_1"}
    assert req.tool_history
    with pytest.raises(ApiError) as caught:
        chat_request({**BASE, "messages": [{"role": "tool", "content": "x"}]})
    assert caught.value.param == "messages[0]"


def test_deprecated_functions_become_one_call_tools():
    req = chat_request(
        {
            **BASE,
            "functions": [{"name": "weather", "parameters": {"type": "object"}}],
            "function_call": {"name": "weather"},
        }
    )
    assert req.tools.legacy and not req.tools.parallel
    assert req.tools.forced == "weather"


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"user": 5}, "user"),
        ({"user": "x" * 257}, "user"),
        ({"stream_options": {"include_usage": "yes"}}, "stream_options"),
        ({"stream_options": {"bogus": True}}, "stream_options"),
        ({"frobnicate": None}, "frobnicate"),
    ],
)
def test_malformed_or_unknown_values_are_still_refused(change, param):
    with pytest.raises(ApiError) as caught:
        chat_request({**BASE, **change})
    assert caught.value.param == param
    assert "not supported" not in str(caught.value)


def test_completion_only_parameters_accept_their_no_ops():
    body = {"model": "m", "prompt": "x", "echo": False, "best_of": 1, "suffix": None}
    assert completion_request(body).sampling == {"raw": True}
    with pytest.raises(ApiError, match="'echo' is not supported"):
        completion_request({**body, "echo": True})
    assert completion_request({**body, "logprobs": 2}).sampling == {
        "logprobs": True,
        "top_logprobs": 2,
        "raw": True,
    }
    with pytest.raises(ApiError) as caught:
        completion_request({**body, "logprobs": True})
    assert caught.value.param == "logprobs"
    with pytest.raises(ApiError, match="Unknown parameter"):
        chat_request({**BASE, "echo": False})
