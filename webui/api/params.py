"""Validate request bodies before anything reaches a worker (or llama.cpp)."""

import json
from dataclasses import dataclass, field

from webui.api.errors import ApiError
from webui.chat.sampling import SamplingRejected, clean_sampling

ROLES = {"system", "user", "assistant"}
MAX_BODY_BYTES = 1_000_000
COMMON = {
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "seed",
    "stream",
    "stream_options",
    "n",
    "user",
}
CHAT_KEYS = COMMON | {"messages", "max_completion_tokens", "store"}
# What the one check of sampling settings takes from a request (webui.chat.sampling).
SAMPLING_KEYS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop")
COMPLETION_KEYS = COMMON | {"prompt"}


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


def _integer(data: dict, name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(f"'{name}' must be an integer.", param=name)
    if not low <= value <= high:
        raise ApiError(f"'{name}' must be between {low} and {high}.", param=name)
    return value


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


def _common(data: dict, allowed: set[str]) -> tuple[str, dict, bool, bool]:
    if unknown := sorted(set(data) - allowed):
        raise ApiError(f"Unknown parameter(s): {', '.join(unknown)}.", param=unknown[0])
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError("'model' is required.", param="model")
    if _integer(data, "n", 1, 1) not in (None, 1):
        raise ApiError("Only n=1 is supported.", param="n")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError("'stream' must be true or false.", param="stream")
    options = data.get("stream_options") or {}
    if not isinstance(options, dict) or set(options) - {"include_usage"}:
        raise ApiError("'stream_options' may hold only include_usage.", param="stream_options")
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
    model, sampling, stream, usage = _common(data, CHAT_KEYS)
    store = data.get("store", False)
    if not isinstance(store, bool):
        raise ApiError("'store' must be true or false.", param="store")
    return Request(model, _messages(data), stream, usage, sampling=sampling, store=store)


def completion_request(data: dict) -> Request:
    model, sampling, stream, usage = _common(data, COMPLETION_KEYS)
    prompt = data.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise ApiError("'prompt' must be a non-empty string.", param="prompt")
    sampling["raw"] = True
    return Request(model, [{"role": "user", "content": prompt}], stream, usage, True, sampling)
