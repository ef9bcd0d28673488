"""Validate request bodies before anything reaches a worker (or llama.cpp)."""

import json
from dataclasses import dataclass, field

from webui.api.errors import ApiError
from webui.chat.sampling import SamplingRejected, clean_sampling

ROLES = {"system", "user", "assistant"}
MAX_BODY_BYTES = 1_000_000
MAX_USER_CHARS = 256
SUPPORTED = {"model", "temperature", "top_p", "max_tokens", "stop", "seed", "stream"}
# What the one check of sampling settings takes from a request (webui.chat.sampling).
SAMPLING_KEYS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop")


def _zero(value) -> bool:
    return type(value) in (int, float) and value == 0


def _text_hint(value) -> bool:
    return isinstance(value, str) and len(value) <= MAX_USER_CHARS


# OpenAI's parameters that change nothing here, or whose features are not built yet: each
# is accepted only at a value that asks for nothing (a null is always "not given"), and any
# other value is refused by name. Name → (is it a no-op?, the no-op values, for the error).
# None: nothing but null asks for nothing.
NO_OPS = {
    "frequency_penalty": (_zero, "0"),
    "presence_penalty": (_zero, "0"),
    "logit_bias": (lambda v: v == {}, "{}"),
    "logprobs": (lambda v: v is False, "false"),
    "top_logprobs": (lambda v: type(v) is int and v == 0, "0"),
    "n": (lambda v: type(v) is int and v == 1, "1"),
    "response_format": (lambda v: v == {"type": "text"}, '{"type": "text"}'),
    "tools": (lambda v: v == [], "[]"),
    "tool_choice": (lambda v: v == "none", '"none"'),
    # Without tools it asks for nothing either way.
    "parallel_tool_calls": (lambda v: isinstance(v, bool), "true or false"),
    "modalities": (lambda v: v == ["text"], '["text"]'),
    "service_tier": (lambda v: v in ("auto", "default"), '"auto" or "default"'),
    # Hints for OpenAI's own abuse checks and prompt cache: llama.cpp reuses its cache anyway.
    "prompt_cache_key": (_text_hint, "a string"),
    "safety_identifier": (_text_hint, "a string"),
    "metadata": (lambda v: v == {}, "{}"),
    # OpenAI's deprecated form of tools: nothing but null until tools are built.
    "functions": (lambda v: False, None),
    "function_call": (lambda v: False, None),
    "reasoning_effort": (lambda v: False, None),
    "verbosity": (lambda v: False, None),
    "audio": (lambda v: False, None),
    "prediction": (lambda v: False, None),
    "web_search_options": (lambda v: False, None),
}
COMPLETION_NO_OPS = {
    **{name: NO_OPS[name] for name in ("frequency_penalty", "presence_penalty", "logit_bias")},
    "n": NO_OPS["n"],
    # In the legacy API an integer asks for that many alternatives per token.
    "logprobs": (lambda v: v is False, "false"),
    "echo": (lambda v: v is False, "false"),
    "best_of": (lambda v: type(v) is int and v == 1, "1"),
    "suffix": (lambda v: v == "", '""'),
}
COMMON = SUPPORTED | {"stream_options", "user"}
KNOWN_CHAT = COMMON | set(NO_OPS) | {"messages", "max_completion_tokens", "store"}
KNOWN_COMPLETION = COMMON | set(COMPLETION_NO_OPS) | {"prompt"}


@dataclass
class Request:
    model: str
    messages: list[dict]
    stream: bool = False
    include_usage: bool = False
    raw: bool = False
    sampling: dict = field(default_factory=dict)
    store: bool = False


def _reject_constant(name: str):
    raise ApiError(f"Invalid number {name} in the request body.")


def parse_body(body: bytes) -> dict:
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(f"The request body is larger than {MAX_BODY_BYTES:,} bytes.")
    try:
        data = json.loads(body or b"null", parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError("The request body is JSON nested too deeply.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ApiError("The request body must be a JSON object.")
    return data


def _sampling(data: dict) -> dict:
    """The request's sampling settings, through the one check every answer's settings pass."""
    try:
        return clean_sampling({name: data.get(name) for name in SAMPLING_KEYS})
    except SamplingRejected as exc:
        raise ApiError(str(exc), param=exc.field) from None


def _text(content, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        for p in content
    ):
        return "".join(p["text"] for p in content)
    raise ApiError(f"'{where}' must be a string or a list of text parts.", param=where)


def _messages(data: dict) -> list[dict]:
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError("'messages' must be a non-empty list.", param="messages")
    cleaned = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ApiError(f"'{where}.role' must be one of {sorted(ROLES)}.", param=where)
        cleaned.append({"role": message["role"], "content": _text(message.get("content"), where)})
    if cleaned[-1]["role"] == "system":
        raise ApiError("The last message must be from the user or assistant.", param="messages")
    return cleaned


def _given(data: dict, known: set[str], no_ops: dict) -> dict:
    """The parameters the request gives: nulls left out, and none that asks for more."""
    if unknown := sorted(set(data) - known):
        raise ApiError(f"Unknown parameter(s): {', '.join(unknown)}.", param=unknown[0])
    given = {name: value for name, value in data.items() if value is not None}
    for name, (is_no_op, accepted) in no_ops.items():
        if name in given and not is_no_op(given.pop(name)):
            only = f"; only {accepted} (or null) is accepted" if accepted else ""
            raise ApiError(
                f"'{name}' is not supported yet{only}.", param=name, code="unsupported_parameter"
            )
    return given


def _common(data: dict) -> tuple[str, dict, bool, bool]:
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError("'model' is required.", param="model")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError("'stream' must be true or false.", param="stream")
    user = data.get("user", "")
    if not isinstance(user, str) or len(user) > MAX_USER_CHARS:
        raise ApiError(
            f"'user' must be a string of up to {MAX_USER_CHARS} characters.", param="user"
        )
    options = data.get("stream_options", {})
    # Without stream they change nothing: ignored, where OpenAI refuses them.
    if (
        not isinstance(options, dict)
        or set(options) - {"include_usage", "include_obfuscation"}
        or not all(isinstance(value, bool | None) for value in options.values())
    ):
        raise ApiError(
            "'stream_options' may hold only include_usage (true or false).",
            param="stream_options",
        )
    return model, _sampling(data), stream, bool(options.get("include_usage"))


def check_model_bounds(sampling: dict, model) -> None:
    """Refuse settings past the bounds the admin set for this model, naming the bound."""
    temperature = sampling.get("temperature")
    if temperature is not None and temperature > model.temperature_max:
        raise ApiError(
            f"'temperature' must be between 0 and {model.temperature_max:g} for '{model.slug}'.",
            param="temperature",
        )
    limit = max(model.max_tokens_limit, model.max_tokens)
    max_tokens = sampling.get("max_tokens")
    if max_tokens is not None and max_tokens > limit:
        raise ApiError(
            f"'max_tokens' must be between 1 and {limit} for '{model.slug}'.", param="max_tokens"
        )


def chat_request(data: dict) -> Request:
    data = _given(data, KNOWN_CHAT, NO_OPS)
    model, sampling, stream, usage = _common(data)
    store = data.get("store", False)
    if not isinstance(store, bool):
        raise ApiError("'store' must be true or false.", param="store")
    return Request(model, _messages(data), stream, usage, sampling=sampling, store=store)


def completion_request(data: dict) -> Request:
    data = _given(data, KNOWN_COMPLETION, COMPLETION_NO_OPS)
    model, sampling, stream, usage = _common(data)
    prompt = data.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise ApiError("'prompt' must be a non-empty string.", param="prompt")
    sampling["raw"] = True
    return Request(model, [{"role": "user", "content": prompt}], stream, usage, True, sampling)
