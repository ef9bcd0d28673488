"""A chat request's `messages`, checked and put in the form they are stored in.

Roles as OpenAI has them: `system` and `developer` (stored as system), `user`,
`assistant` (its `content` may be null beside `tool_calls`, or the deprecated
`function_call`), `tool` (a tool's result, with the `tool_call_id` it answers) and the
deprecated `function` (a result by function name). What a message carries beside its text
is kept in Message.api_fields: `tool_calls`, `tool_call_id`, `name`.
"""

import json

from webui.api.errors import ApiError

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
STORED_ROLE = {"developer": "system", "function": "tool"}
MAX_CALL_ID_CHARS = 256


def chat_messages(data: dict) -> tuple[list[dict], bool]:
    """The messages as {"role", "content", "api_fields"}, and whether any holds tool calls or
    results (their prompt then depends on the model's tool path)."""
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError("'messages' must be a non-empty list.", param="messages")
    cleaned = [_message(message, f"messages[{index}]") for index, message in enumerate(messages)]
    if cleaned[-1]["role"] == "system":
        raise ApiError(
            "The last message must be from the user, the assistant or a tool.", param="messages"
        )
    with_tools = any(m["api_fields"] for m in cleaned)
    return cleaned, with_tools


def _message(message, where: str) -> dict:
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        raise ApiError(f"'{where}.role' must be one of {list(ROLES)}.", param=where)
    role = message["role"]
    fields = {}
    if role == "assistant":
        fields = _assistant_fields(message, where)
    elif role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not 0 < len(call_id) <= MAX_CALL_ID_CHARS:
            raise ApiError(f"'{where}.tool_call_id' must be a string.", param=where)
        fields = {"tool_call_id": call_id}
    elif role == "function":
        name = message.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(f"'{where}.name' must name the function.", param=where)
        fields = {"name": name}
    content = message.get("content")
    if content is None and (fields.get("tool_calls") or role in ("tool", "function")):
        content = ""
    return {
        "role": STORED_ROLE.get(role, role),
        "content": _text(content, where),
        "api_fields": fields or None,
    }


def _assistant_fields(message: dict, where: str) -> dict:
    calls = message.get("tool_calls")
    legacy = message.get("function_call")
    if calls is None and legacy is None:
        return {}
    if legacy is not None:
        if calls is not None:
            raise ApiError(f"'{where}' has both tool_calls and function_call.", param=where)
        calls = [{"id": "", "type": "function", "function": legacy}]
    if not isinstance(calls, list):
        raise ApiError(f"'{where}.tool_calls' must be a list.", param=where)
    cleaned = []
    for index, call in enumerate(calls):
        at = f"{where}.tool_calls[{index}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ApiError(f"'{at}' must be a function call with a name.", param=at)
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)  # given as an object
        call_id = call.get("id", "")
        if not isinstance(call_id, str) or len(call_id) > MAX_CALL_ID_CHARS:
            raise ApiError(f"'{at}.id' must be a string.", param=at)
        cleaned.append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": function["name"], "arguments": arguments},
            }
        )
    return {"tool_calls": cleaned} if cleaned else {}


def _text(content, where: str) -> str:
    if isinstance(content, str):
        return content
    # Text parts; a refusal part (an assistant's earlier refusal) reads as text too.
    if isinstance(content, list) and all(
        isinstance(p, dict)
        and p.get("type") in ("text", "refusal")
        and isinstance(p.get(p["type"]), str)
        for p in content
    ):
        return "".join(p[p["type"]] for p in content)
    raise ApiError(f"'{where}' content must be a string or a list of text parts.", param=where)
