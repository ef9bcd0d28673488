"""The one check of sampling settings: what it keeps, and what it refuses with which words."""

import pytest

from webui.chat.sampling import SamplingRejected, clean_sampling


def test_known_settings_are_kept_typed_and_the_rest_left_out():
    cleaned = clean_sampling(
        {
            "temperature": 1,
            "top_p": 0.5,
            "max_tokens": 9,
            "seed": 7,
            "stop": "END",
            "raw": True,
            "via": "api",
            "frobnicate": {"x": 1},
        }
    )
    assert cleaned == {
        "temperature": 1.0,
        "top_p": 0.5,
        "max_tokens": 9,
        "seed": 7,
        "stop": ["END"],
        "raw": True,
        "via": "api",
    }
    assert isinstance(cleaned["temperature"], float)


def test_empty_values_mean_the_default():
    assert clean_sampling(None) == {}
    assert clean_sampling({}) == {}
    assert clean_sampling({"temperature": None, "stop": [], "seed": None}) == {}


def test_max_completion_tokens_is_max_tokens_and_wins():
    assert clean_sampling({"max_tokens": 5, "max_completion_tokens": 9}) == {"max_tokens": 9}


@pytest.mark.parametrize(
    ("raw", "field", "text"),
    [
        ({"seed": "7"}, "seed", "'seed' must be an integer."),
        ({"seed": 7.5}, "seed", "'seed' must be an integer."),
        ({"seed": [7]}, "seed", "'seed' must be an integer."),
        ({"seed": True}, "seed", "'seed' must be an integer."),
        ({"seed": -1}, "seed", "'seed' must be between 0 and 2147483647."),
        ({"seed": 2**63}, "seed", "'seed' must be between 0 and 2147483647."),
        ({"temperature": "hot"}, "temperature", "'temperature' must be a number."),
        ({"temperature": float("nan")}, "temperature", "'temperature' must be a number."),
        ({"temperature": float("inf")}, "temperature", "'temperature' must be a number."),
        ({"temperature": 2.5}, "temperature", "'temperature' must be between 0 and 2."),
        ({"top_p": -0.1}, "top_p", "'top_p' must be between 0 and 1."),
        ({"top_p": False}, "top_p", "'top_p' must be a number."),
        ({"max_tokens": 0}, "max_tokens", "'max_tokens' must be between 1 and 1000000."),
        ({"max_tokens": 1.0}, "max_tokens", "'max_tokens' must be an integer."),
        ({"max_tokens": "9"}, "max_tokens", "'max_tokens' must be an integer."),
        (
            {"max_completion_tokens": -3},
            "max_completion_tokens",
            "'max_completion_tokens' must be between 1 and 1000000.",
        ),
        ({"stop": [5]}, "stop", "Each 'stop' must be a string of 1 to 200 characters."),
        ({"stop": [["a"]]}, "stop", "Each 'stop' must be a string of 1 to 200 characters."),
        ({"stop": [True]}, "stop", "Each 'stop' must be a string of 1 to 200 characters."),
        ({"stop": [""]}, "stop", "Each 'stop' must be a string of 1 to 200 characters."),
        ({"stop": ["x" * 201]}, "stop", "Each 'stop' must be a string of 1 to 200 characters."),
        ({"stop": 5}, "stop", "'stop' must be a string or a list of up to 4 strings."),
        ({"stop": {"a": 1}}, "stop", "'stop' must be a string or a list of up to 4 strings."),
        (
            {"stop": [f"w{i}" for i in range(300_000)]},
            "stop",
            "'stop' must be a string or a list of up to 4 strings.",
        ),
        ({"raw": "yes"}, "raw", "'raw' must be true or false."),
        (
            {"frequency_penalty": 2.5},
            "frequency_penalty",
            "'frequency_penalty' must be between -2 and 2.",
        ),
        ({"presence_penalty": "1"}, "presence_penalty", "'presence_penalty' must be a number."),
        ({"repeat_penalty": 3}, "repeat_penalty", "'repeat_penalty' must be between 0 and 2."),
        ({"logit_bias": {"12": 101}}, "logit_bias", "'logit_bias' must be between -100 and 100."),
        ({"logit_bias": {"-3": 1}}, "logit_bias", "'logit_bias' keys must be token ids, not '-3'."),
        (
            {"logit_bias": {str(i): 1 for i in range(301)}},
            "logit_bias",
            "'logit_bias' must map up to 300 token ids to numbers.",
        ),
        (
            {"grammar": "x" * 200_001},
            "grammar",
            "'grammar' must be GBNF text of up to 200,000 characters.",
        ),
        ({"logprobs": 1}, "logprobs", "'logprobs' must be true or false."),
        ({"top_logprobs": 21}, "top_logprobs", "'top_logprobs' must be between 0 and 20."),
        ({"tools": {"a": 1}}, "tools", "'tools' must be a list of up to 128 tools."),
        ({"tools": ["clock"]}, "tools", "Each of 'tools' must be an object."),
        (
            {"tool_choice": "always"},
            "tool_choice",
            "'tool_choice' must be auto, none, required or a named function.",
        ),
        ({"truncation": "yes"}, "truncation", "'truncation' must be one of ['auto', 'disabled']."),
        ({"via": "admin"}, "via", "'via' must be one of ['api']."),
        (["temperature", 1], "sampling", "'sampling' must be an object of settings."),
        ("hot", "sampling", "'sampling' must be an object of settings."),
    ],
)
def test_a_bad_setting_is_refused_naming_it_and_why(raw, field, text):
    with pytest.raises(SamplingRejected) as refused:
        clean_sampling(raw)
    assert (refused.value.field, str(refused.value)) == (field, text)
    assert isinstance(refused.value, ValueError)


def test_the_bounds_themselves_are_allowed():
    cleaned = clean_sampling(
        {
            "temperature": 2,
            "top_p": 0,
            "max_tokens": 1_000_000,
            "seed": 2**31 - 1,
            "stop": ["a" * 200] * 4,
        }
    )
    assert cleaned["seed"] == 2**31 - 1 and len(cleaned["stop"]) == 4


def test_the_apis_sampling_extras_are_kept_typed():
    cleaned = clean_sampling(
        {
            "frequency_penalty": -2,
            "presence_penalty": 0.5,
            "repeat_penalty": 1.1,
            "logit_bias": {"0012": -100, 7: 100},
            "grammar": 'root ::= "yes"',
            "logprobs": True,
            "top_logprobs": 20,
            "truncation": "disabled",
        }
    )
    assert cleaned["logit_bias"] == {"12": -100.0, "7": 100.0}
    assert cleaned["frequency_penalty"] == -2.0 and cleaned["top_logprobs"] == 20
    assert cleaned["grammar"] == 'root ::= "yes"' and cleaned["truncation"] == "disabled"
