"""Read a POST /v1/responses body (OpenAI's Responses API) into what the chat path stores.

Input items become the messages of the answer's conversation: text messages by role
(`developer` is `system`), and, with tools, `function_call` and `function_call_output`
items as an assistant's tool call and the tool's result. What this server does not do is
refused by name (400 `unsupported_parameter`), as in the chat endpoints.
"""

import re
from dataclasses import dataclass, field

from webui.api.chat_messages import MAX_CALL_ID_CHARS
from webui.api.errors import ApiError
from webui.api.params import MAX_USER_CHARS, _response_schema
from webui.api.tools import ToolRequest, tool_request
from webui.chat.sampling import SamplingRejected, clean_sampling

ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
TEXT_PARTS = {"input_text", "output_text"}
RESPONSE_ID = re.compile(r"^resp_([0-9]{1,18})$")
MAX_METADATA_KEYS, MAX_METADATA_KEY, MAX_METADATA_VALUE = 16, 64, 512


def _unsupported(name: str, what: str | None = None) -> ApiError:
    only = f"; only {what} (or null) is accepted" if what else ""
    return ApiError(
        f"'{name}' is not supported by this server{only}.",
        param=name,
        code="unsupported_parameter",
    )


def _no_reasoning(value) -> bool:
    return isinstance(value, dict) and all(v is None for v in value.values())


def _hint(value) -> bool:
    return isinstance(value, str) and len(value) <= MAX_USER_CHARS


# OpenAI's parameters that change nothing here, each accepted at a value that asks for
# nothing (null is always "not given"): name → (is it a no-op?, the values, for the error).
NO_OPS = {
    "reasoning": (_no_reasoning, "{} (these models do not reason apart from their answer)"),
    "include": (lambda v: v == [], "[]"),
    "top_logprobs": (lambda v: type(v) is int and v == 0, "0"),
    "service_tier": (lambda v: v in ("auto", "default"), '"auto" or "default"'),
    "background": (lambda v: v is False, "false"),
    "prompt_cache_key": (_hint, "a string"),
    "safety_identifier": (_hint, "a string"),
    "stream_options": (
        lambda v: isinstance(v, dict) and set(v) <= {"include_obfuscation"},
        '{"include_obfuscation": …}',
    ),
    # Features of OpenAI's service that this server does not have.
    "conversation": (lambda v: False, None),
    "prompt": (lambda v: False, None),
    "max_tool_calls": (lambda v: False, None),
    "prompt_cache_retention": (lambda v: False, None),
    "prompt_cache_options": (lambda v: False, None),
    "context_management": (lambda v: False, None),
    "moderation": (lambda v: False, None),
    "image": (lambda v: False, None),
    "access_programs": (lambda v: False, None),
    "background_options": (lambda v: False, None),
}
SUPPORTED = {
    "model",
    "input",
    "instructions",
    "max_output_tokens",
    "temperature",
    "top_p",
    "stream",
    "store",
    "previous_response_id",
    "truncation",
    "metadata",
    "user",
    "text",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
}
KNOWN = SUPPORTED | set(NO_OPS)


@dataclass
class ResponseRequest:
    model: str
    # The messages to store before the answer: role, content, and api_fields where the
    # item carries more than text.
    inputs: list[dict]
    instructions: str = ""
    previous: str | None = None  # previous_response_id, as given
    stream: bool = False
    store: bool = True
    sampling: dict = field(default_factory=dict)
    # What the response object repeats of the request.
    echo: dict = field(default_factory=dict)
    # As in a chat request (webui.api.params.Request), for the chat path's steps.
    tools: ToolRequest | None = None
    tool_history: bool = False
    response_schema: dict | None = None
    n: int = 1


def response_id(raw) -> int | None:
    """The answer id in a response id (`resp_<id>`); None for anything else."""
    match = RESPONSE_ID.match(raw) if isinstance(raw, str) else None
    return int(match[1]) if match else None


def response_request(data: dict) -> ResponseRequest:
    """Check a request body; raise ApiError naming the first parameter at fault."""
    given = _given(data)
    model = given.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError("'model' is required.", param="model")
    request = ResponseRequest(
        model=model,
        inputs=_inputs(given.get("input")),
        instructions=_string(given, "instructions", None),
        stream=_flag(given, "stream", False),
        store=_flag(given, "store", True),
        sampling=_sampling(given),
    )
    _string(given, "user", MAX_USER_CHARS)
    request.tools = _tools(given)
    if "previous_response_id" in given:
        request.previous = _string(given, "previous_response_id", None)
    # Calls or results in the history (an earlier response's may hold them): their prompt
    # then follows the model's tool path.
    request.tool_history = request.previous is not None or any(
        m["api_fields"] for m in request.inputs
    )
    text_format = _text_format(given.get("text", {}))
    try:
        request.response_schema = _response_schema(
            {"response_format": _as_chat_format(text_format)}
        )
    except ApiError as exc:
        exc.param = "text.format"
        raise
    request.echo = {
        "previous_response_id": request.previous,
        "store": request.store,
        "instructions": request.instructions or None,
        "max_output_tokens": given.get("max_output_tokens"),
        "metadata": _metadata(given.get("metadata", {})),
        "parallel_tool_calls": given.get("parallel_tool_calls", True),
        "temperature": given.get("temperature"),
        "top_p": given.get("top_p"),
        "truncation": request.sampling["truncation"],
        "user": given.get("user"),
        "text": {"format": text_format},
        "tools": given.get("tools", []),
        "tool_choice": given.get("tool_choice", "auto"),
    }
    return request


def _given(data: dict) -> dict:
    if unknown := sorted(set(data) - KNOWN):
        raise ApiError(f"Unknown parameter(s): {', '.join(unknown)}.", param=unknown[0])
    given = {name: value for name, value in data.items() if value is not None}
    for name, (is_no_op, accepted) in NO_OPS.items():
        if name in given and not is_no_op(given[name]):
            raise _unsupported(name, accepted)
    return given


def _flag(given: dict, name: str, default: bool) -> bool:
    value = given.get(name, default)
    if not isinstance(value, bool):
        raise ApiError(f"'{name}' must be true or false.", param=name)
    return value


def _string(given: dict, name: str, limit: int | None) -> str:
    value = given.get(name, "")
    if not isinstance(value, str) or (limit is not None and len(value) > limit):
        size = f" of up to {limit} characters" if limit is not None else ""
        raise ApiError(f"'{name}' must be a string{size}.", param=name)
    return value


def _sampling(given: dict) -> dict:
    """Through the one check every answer's settings pass (webui.chat.sampling)."""
    raw = {
        "temperature": given.get("temperature"),
        "top_p": given.get("top_p"),
        "max_tokens": given.get("max_output_tokens"),
        # OpenAI's default: a conversation too long for the model is refused, not cut.
        "truncation": given.get("truncation", "disabled"),
    }
    try:
        return clean_sampling(raw)
    except SamplingRejected as exc:
        name = "max_output_tokens" if exc.field == "max_tokens" else exc.field
        raise ApiError(str(exc).replace("'max_tokens'", f"'{name}'"), param=name) from None


def _metadata(value) -> dict:
    if (
        not isinstance(value, dict)
        or len(value) > MAX_METADATA_KEYS
        or not all(
            isinstance(k, str)
            and len(k) <= MAX_METADATA_KEY
            and isinstance(v, str)
            and len(v) <= MAX_METADATA_VALUE
            for k, v in value.items()
        )
    ):
        raise ApiError(
            f"'metadata' must map up to {MAX_METADATA_KEYS} keys (up to {MAX_METADATA_KEY} "
            f"characters) to strings (up to {MAX_METADATA_VALUE}).",
            param="metadata",
        )
    return value


def _inputs(value) -> list[dict]:
    if isinstance(value, str):
        if not value:
            raise ApiError("'input' must not be empty.", param="input")
        return [{"role": "user", "content": value, "api_fields": None}]
    if not isinstance(value, list) or not value:
        raise ApiError("'input' must be a string or a non-empty list of items.", param="input")
    inputs: list[dict] = []
    for index, item in enumerate(value):
        message = _item(item, f"input[{index}]")
        calls = (message["api_fields"] or {}).get("tool_calls")
        last = inputs[-1] if inputs else None
        if calls and last and (last["api_fields"] or {}).get("tool_calls"):
            last["api_fields"]["tool_calls"] += calls  # calls made together: one turn
        else:
            inputs.append(message)
    if all(message["role"] == "system" for message in inputs):
        raise ApiError("'input' needs a message that is not from the system.", param="input")
    return inputs


def _item(item, where: str) -> dict:
    """An input item as a message to store: role, content and api_fields."""
    if not isinstance(item, dict):
        raise ApiError(f"'{where}' must be an object.", param=where)
    kind = item.get("type", "message")
    if kind == "function_call":
        call = {
            "id": _call_id(item, where),
            "type": "function",
            "function": {
                "name": _field(item, "name", where),
                "arguments": _field(item, "arguments", where),
            },
        }
        return {"role": "assistant", "content": "", "api_fields": {"tool_calls": [call]}}
    if kind == "function_call_output":
        output = item.get("output")
        content = output if isinstance(output, str) else _content(output, f"{where}.output")
        fields = {"tool_call_id": _call_id(item, where)}
        return {"role": "tool", "content": content, "api_fields": fields}
    if kind != "message":
        raise ApiError(
            f"'{where}': items of type {kind!r} are not supported by this server.",
            param=where,
            code="unsupported_parameter",
        )
    role = ROLES.get(item.get("role"))
    if role is None:
        raise ApiError(f"'{where}.role' must be one of {sorted(ROLES)}.", param=f"{where}.role")
    content = _content(item.get("content"), f"{where}.content")
    return {"role": role, "content": content, "api_fields": None}


def _field(item: dict, name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str):
        raise ApiError(f"'{where}.{name}' must be a string.", param=f"{where}.{name}")
    return value


def _call_id(item: dict, where: str) -> str:
    call_id = _field(item, "call_id", where)
    if not 0 < len(call_id) <= MAX_CALL_ID_CHARS:
        raise ApiError(f"'{where}.call_id' is too long.", param=f"{where}.call_id")
    return call_id


def _tools(given: dict) -> ToolRequest | None:
    """The function tools, in the chat API's shape, through the chat path's check."""
    tools = given.get("tools", [])
    if not isinstance(tools, list):
        raise ApiError("'tools' must be a list.", param="tools")
    chat_tools = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise ApiError(
                f"'tools[{index}]': tools of type {kind!r} are not supported by this server; "
                "function tools are.",
                param="tools",
                code="unsupported_parameter",
            )
        function = {k: tool[k] for k in ("name", "description", "parameters") if k in tool}
        chat_tools.append({"type": "function", "function": function})
    chosen = {
        "tools": chat_tools,
        "tool_choice": given.get("tool_choice", "auto"),
        "parallel_tool_calls": given.get("parallel_tool_calls", True),
    }
    return tool_request(chosen) if chat_tools else tool_request({**chosen, "tools": None})


def _text_format(value) -> dict:
    """`text.format`: text, json_object or json_schema (a grammar holds the answer to it)."""
    if not isinstance(value, dict) or set(value) - {"format", "verbosity"}:
        raise ApiError("'text' may hold 'format' (and 'verbosity').", param="text")
    if value.get("verbosity") not in (None, "medium"):
        raise _unsupported("text", '{"verbosity": "medium"}')
    spec = value.get("format", {"type": "text"})
    if not isinstance(spec, dict) or spec.get("type") not in ("text", "json_object", "json_schema"):
        raise ApiError(
            "'text.format' must be of type text, json_object or json_schema.", param="text"
        )
    return spec


def _as_chat_format(spec: dict) -> dict:
    if spec["type"] != "json_schema":
        return {"type": spec["type"]}
    return {
        "type": "json_schema",
        "json_schema": {k: spec[k] for k in ("name", "schema", "strict") if k in spec},
    }


def _content(content, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ApiError(f"'{where}' must be a string or a list of parts.", param=where)
    texts = []
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in {"input_image", "input_file", "input_audio"}:
            raise ApiError(
                f"'{where}[{index}]': {kind} is not supported: these models read text only.",
                param=f"{where}[{index}]",
                code="unsupported_parameter",
            )
        else:
            raise ApiError(
                f"'{where}[{index}]' must be an input_text or output_text part.",
                param=f"{where}[{index}]",
            )
    return "".join(texts)
