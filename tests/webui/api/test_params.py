import pytest

from webui.api.errors import ApiError
from webui.api.params import chat_request, completion_request, parse_body

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
        ({"n": 2}, "n"),
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
    assert req.sampling == {"temperature": 0.0, "max_tokens": 9, "stop": ["END"], "seed": 7}
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
