"""Validate request bodies before anything reaches a worker (or llama.cpp)."""

import json
from dataclasses import dataclass, field

from webui.api.chat_messages import chat_messages
from webui.api.errors import ApiError, BodyTooLarge
from webui.api.json_grammar import Grammar, SchemaUnsupported
from webui.api.tools import ToolRequest, tool_request
from webui.chat.sampling import SamplingRejected, clean_sampling

MAX_BODY_BYTES = 1_000_000
MAX_USER_CHARS = 256
MAX_CHOICES = 8
MAX_DOCUMENT_IDS = 20
# What the one check of sampling settings takes from a request (webui.chat.sampling), by
# the request's name for it.
SAMPLING_KEYS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_completion_tokens",
    "seed": "seed",
    "stop": "stop",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    # An extension, as llama.cpp's server and vLLM take it: llama.cpp's repetition penalty.
    "repetition_penalty": "repeat_penalty",
    "logit_bias": "logit_bias",
}
# Settings stored only when they ask for something (the no-op values leave them out).
_NOTHING = {
    "frequency_penalty": 0.0,
    "presence_penalty": 0.0,
    "repeat_penalty": 1.0,
    "logit_bias": {},
}


def _text_hint(value) -> bool:
    return isinstance(value, str) and len(value) <= MAX_USER_CHARS


# OpenAI's parameters that change nothing here, or whose features these models or this
# server do not have: each is accepted only at a value that asks for nothing (a null is
# always "not given"), and any other value is refused by name. Name → (is it a no-op?, the
# no-op values, for the error). None: nothing but null asks for nothing.
NO_OPS = {
    "modalities": (lambda v: v == ["text"], '["text"]'),
    "service_tier": (lambda v: v in ("auto", "default"), '"auto" or "default"'),
    # Hints for OpenAI's own abuse checks and prompt cache: llama.cpp reuses its cache anyway.
    "prompt_cache_key": (_text_hint, "a string"),
    "safety_identifier": (_text_hint, "a string"),
    "metadata": (lambda v: v == {}, "{}"),
    "reasoning_effort": (lambda v: False, None),
    "verbosity": (lambda v: False, None),
    "audio": (lambda v: False, None),
    "prediction": (lambda v: False, None),
    "web_search_options": (lambda v: False, None),
}
COMPLETION_NO_OPS = {
    "echo": (lambda v: v is False, "false"),
    "best_of": (lambda v: type(v) is int and v == 1, "1"),
    "suffix": (lambda v: v == "", '""'),
}
COMMON = {"model", "stream", "stream_options", "user", "n", *SAMPLING_KEYS} - {
    "max_completion_tokens"
}
KNOWN_CHAT = (
    COMMON
    | set(NO_OPS)
    | {"messages", "max_completion_tokens", "store", "logprobs", "top_logprobs", "truncation"}
    | {"response_format", "tools", "tool_choice", "parallel_tool_calls"}
    | {"functions", "function_call"}
    # Homefire's extension: documents the answer reads (webui.api.documents).
    | {"collections", "files"}
)
KNOWN_COMPLETION = COMMON | set(COMPLETION_NO_OPS) | {"prompt", "logprobs"}


@dataclass
class Request:
    model: str
    messages: list[dict]
    stream: bool = False
    include_usage: bool = False
    raw: bool = False
    sampling: dict = field(default_factory=dict)
    store: bool = False
    n: int = 1
    tools: ToolRequest | None = None
    # Whether the history holds tool calls or results (their prompt depends on the model).
    tool_history: bool = False
    # The JSON schema the answer must follow (response_format), if any.
    response_schema: dict | None = None
    # Collections searched and files given whole, for this request (an extension).
    collections: tuple[int, ...] = ()
    files: tuple[int, ...] = ()


def _reject_constant(name: str):
    raise ApiError(f"Invalid number {name} in the request body.")


def parse_body(body: bytes) -> dict:
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"The request body is larger than {MAX_BODY_BYTES:,} bytes.")
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
    raw = {stored: data.get(name) for name, stored in SAMPLING_KEYS.items()}
    try:
        cleaned = clean_sampling(raw)
    except SamplingRejected as exc:
        names = {stored: name for name, stored in SAMPLING_KEYS.items()}
        raise ApiError(str(exc), param=names.get(exc.field, exc.field)) from None
    return {k: v for k, v in cleaned.items() if _NOTHING.get(k, ...) != v}


def _given(data: dict, known: set[str], no_ops: dict) -> dict:
    """The parameters the request gives: nulls left out, and none that asks for more."""
    if unknown := sorted(set(data) - known):
        raise ApiError(f"Unknown parameter(s): {', '.join(unknown)}.", param=unknown[0])
    given = {name: value for name, value in data.items() if value is not None}
    for name, (is_no_op, accepted) in no_ops.items():
        if name in given and not is_no_op(given.pop(name)):
            only = f"; only {accepted} (or null) is accepted" if accepted else ""
            raise ApiError(
                f"'{name}' is not supported{only}.", param=name, code="unsupported_parameter"
            )
    return given


def _common(data: dict) -> tuple[str, dict, bool, bool, int]:
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
    n = data.get("n", 1)
    if type(n) is not int or not 1 <= n <= MAX_CHOICES:
        raise ApiError(f"'n' must be an integer from 1 to {MAX_CHOICES}.", param="n")
    return model, _sampling(data), stream, bool(options.get("include_usage")), n


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


def _logprobs(data: dict) -> dict:
    """Chat's `logprobs` (true or false) and `top_logprobs` (0 to 20), as sampling keys."""
    asked, top = data.get("logprobs", False), data.get("top_logprobs", 0)
    if not isinstance(asked, bool):
        raise ApiError("'logprobs' must be true or false.", param="logprobs")
    if top and not asked:
        raise ApiError("'top_logprobs' needs 'logprobs': true.", param="top_logprobs")
    return _checked({"logprobs": asked, "top_logprobs": top}) if asked else {}


def _checked(sampling: dict) -> dict:
    try:
        return clean_sampling(sampling)
    except SamplingRejected as exc:
        raise ApiError(str(exc), param=exc.field) from None


def _response_schema(data: dict) -> dict | None:
    """The JSON schema of `response_format`, checked to make a grammar; None for text."""
    spec = data.get("response_format", {"type": "text"})
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object"}
    if kind != "json_schema":
        raise ApiError(
            "'response_format' must be of type text, json_object or json_schema.",
            param="response_format",
        )
    described = spec.get("json_schema")
    if not isinstance(described, dict) or not isinstance(described.get("schema", {}), dict):
        raise ApiError(
            "'response_format.json_schema' must be an object with a 'schema' object.",
            param="response_format",
        )
    schema = described.get("schema", {})
    try:
        Grammar().schema(schema, where="schema")
    except SchemaUnsupported as exc:
        raise ApiError(
            f"This schema cannot be used: {exc}.",
            param="response_format.json_schema.schema",
            code="unsupported_schema",
        ) from None
    return schema


def document_ids(data: dict, name: str) -> tuple[int, ...]:
    """The ids of an extension's list (`collections`, `files`): whole numbers, each once."""
    ids = data.get(name, [])
    if (
        not isinstance(ids, list)
        or len(ids) > MAX_DOCUMENT_IDS
        or not all(type(i) is int and 0 < i < 2**63 for i in ids)
    ):
        raise ApiError(
            f"'{name}' must be a list of up to {MAX_DOCUMENT_IDS} ids (whole numbers).",
            param=name,
        )
    return tuple(dict.fromkeys(ids))


def chat_request(data: dict) -> Request:
    data = _given(data, KNOWN_CHAT, NO_OPS)
    model, sampling, stream, usage, n = _common(data)
    store = data.get("store", False)
    if not isinstance(store, bool):
        raise ApiError("'store' must be true or false.", param="store")
    # As in OpenAI's chat API, a conversation too long for the context is refused; "auto"
    # (an extension, as in the Responses API) lets the oldest turns go.
    truncation = data.get("truncation", "disabled")
    sampling.update(_checked({"truncation": truncation}), **_logprobs(data))
    messages, tool_history = chat_messages(data)
    return Request(
        model,
        messages,
        stream,
        usage,
        sampling=sampling,
        store=store,
        n=n,
        tools=tool_request(data),
        tool_history=tool_history,
        response_schema=_response_schema(data),
        collections=document_ids(data, "collections"),
        files=document_ids(data, "files"),
    )


def completion_request(data: dict) -> Request:
    data = _given(data, KNOWN_COMPLETION, COMPLETION_NO_OPS)
    model, sampling, stream, usage, n = _common(data)
    prompt = data.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise ApiError("'prompt' must be a non-empty string.", param="prompt")
    # The legacy API's logprobs: how many alternatives per token (0: the token's own only).
    top = data.get("logprobs", False)
    if top is not False:
        if type(top) is not int:
            raise ApiError("'logprobs' must be an integer from 0 to 20.", param="logprobs")
        sampling.update(_checked({"logprobs": True, "top_logprobs": top}))
    sampling["raw"] = True
    message = {"role": "user", "content": prompt, "api_fields": None}
    return Request(model, [message], stream, usage, True, sampling, n=n)
