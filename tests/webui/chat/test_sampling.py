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
