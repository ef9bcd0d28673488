"""How a conversation with tools reads to the model's chat template, on either path.

The API decides the path when it stores the answer (webui.api.tools) and says which in
its sampling's "tool_format":
- "native": the template knows tools (Hermes/Qwen style). The tools go to it as its
  `tools` variable (selectors.prompt_options); the history keeps the assistant's
  `tool_calls` (arguments as objects, as these templates write them with `tojson`, and as
  llama.cpp's server hands them over) and the `tool` messages with their `tool_call_id`.
- "generic": any other template, in llama.cpp's generic format. The tools and the JSON to
  answer with are described in the system message; earlier calls are written as the JSON
  the model wrote them in, and tool results as user turns of JSON
  ({"tool_response": {"tool", "tool_call_id", "content"}}), which every template renders.
"""

import json

NATIVE, GENERIC = "native", "generic"


def with_tools(history: list[dict], sampling: dict) -> list[dict]:
    """The history as the answer's tool path wants it (unchanged without one)."""
    path = sampling.get("tool_format")
    if path == NATIVE:
        return [_native(turn) for turn in history]
    if path != GENERIC:
        return [{"role": t["role"], "content": t["content"]} for t in history]
    parallel = sampling.get("parallel_tool_calls", True)
    turns = _generic(history, parallel)
    tools = sampling.get("tools") or []
    choice = sampling.get("tool_choice", "auto")
    if not tools or choice == "none":
        return turns
    instructions = generic_instructions(tools, choice, parallel)
    if turns and turns[0]["role"] == "system":
        first = turns[0]
        return [{**first, "content": f"{first['content']}\n\n{instructions}"}, *turns[1:]]
    return [{"role": "system", "content": instructions}, *turns]


def generic_instructions(tools: list[dict], choice, parallel: bool) -> str:
    """The system text of llama.cpp's generic format: the tools, and the JSON to write."""
    functions = [tool["function"] for tool in tools]
    key = "tool_calls" if parallel else "tool_call"
    call = {"name": "<the tool's name>", "arguments": {"<argument>": "<value>"}}
    example = {key: [call]} if parallel else {key: call}
    text = f"You can call these tools:\n{json.dumps(functions, ensure_ascii=False, indent=2)}\n\n"
    if choice == "auto":
        return text + (
            f"Respond in JSON format, either with `{key}` (a request to call tools) or with "
            "`response` (your reply to the user's request), e.g.\n"
            f"{json.dumps(example)}\nor\n"
            '{"response": "<your reply>"}'
        )
    return text + (
        f"Respond in JSON format with `{key}` (a request to call tools), e.g.\n"
        f"{json.dumps(example)}"
    )


def _native(turn: dict) -> dict:
    shaped = {"role": turn["role"], "content": turn["content"]}
    fields = turn.get("api_fields") or {}
    if calls := fields.get("tool_calls"):
        shaped["tool_calls"] = [
            {
                "id": call.get("id", ""),
                "type": "function",
                "function": {
                    "name": call["function"]["name"],
                    "arguments": _arguments(call["function"].get("arguments")),
                },
            }
            for call in calls
        ]
    for key in ("tool_call_id", "name"):
        if key in fields:
            shaped[key] = fields[key]
    return shaped


def _generic(history: list[dict], parallel: bool) -> list[dict]:
    turns, names = [], {}
    for turn in history:
        fields = turn.get("api_fields") or {}
        if calls := fields.get("tool_calls"):
            written = [
                {
                    "name": call["function"]["name"],
                    "arguments": _arguments(call["function"].get("arguments")),
                }
                for call in calls
            ]
            names.update({call.get("id", ""): call["function"]["name"] for call in calls})
            reply = (
                {"tool_calls": written}
                if parallel or len(written) > 1
                else {"tool_call": written[0]}
            )
            turns.append({"role": "assistant", "content": json.dumps(reply, ensure_ascii=False)})
        elif turn["role"] == "tool":
            call_id = fields.get("tool_call_id", "")
            result = {
                "tool_response": {
                    "tool": fields.get("name") or names.get(call_id, ""),
                    "tool_call_id": call_id,
                    "content": turn["content"],
                }
            }
            text = json.dumps(result, ensure_ascii=False)
            if turns and turns[-1].get("tool_results"):
                # Results of one round of calls, in one turn: templates that want turns to
                # alternate refuse two user turns in a row.
                turns[-1]["content"] += "\n" + text
            else:
                turns.append({"role": "user", "content": text, "tool_results": True})
        else:
            turns.append({"role": turn["role"], "content": turn["content"]})
    return [{"role": t["role"], "content": t["content"]} for t in turns]


def _arguments(arguments):
    """A call's arguments as an object, when its JSON text holds one."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments if arguments is not None else {}
