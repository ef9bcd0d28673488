"""Tools (function calling): a request's tools checked, the path the model's template
takes, and the grammar that holds the answer to it.

Two paths, decided here from the template the model's workers use
(webui.api.model_template), as llama.cpp's server decides by the template's text:
- native: a template that writes Hermes-style `<tool_call>` blocks (Hermes 2 Pro, Qwen 2.5,
  Qwen 3 and the many templates made after them). It renders the tools itself, and the
  model answers with `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`.
- generic: every other template (the bundled SmolLM2's included): llama.cpp's generic
  format. The tools are described in a system message and the answer is JSON, held by a
  grammar to {"tool_calls": [...]} ({"tool_call": {...}} without parallel calls) or
  {"response": "..."}.

The web decides because it also builds the grammar (JSON schemas are converted here, so a
schema that cannot be is a 400: webui.api.json_grammar) and reads the answer back
(webui.api.tool_calls). The answer's sampling carries the path ("tool_format"), the tools
and the grammar; the worker builds the prompt as the path says (webui.chat.tool_turns).
"""

import re
from dataclasses import dataclass

from webui.api.errors import ApiError
from webui.api.json_grammar import Grammar, SchemaUnsupported
from webui.api.model_template import template_source
from webui.chat.sampling import MAX_TOOLS
from webui.chat.tool_turns import GENERIC, NATIVE

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# What a Hermes-style template writes around a call (llama.cpp looks for the same).
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
NO_PARAMETERS = {"type": "object", "properties": {}}


@dataclass
class ToolRequest:
    """The tools a request offers, and how it lets the model use them."""

    tools: list[dict]  # OpenAI's shape: {"type": "function", "function": {name, ...}}
    choice: str | dict = "auto"  # auto, none, required, or {"type": "function", ...}
    parallel: bool = True
    # Asked with the deprecated `functions`: answered with `function_call`, one at most.
    legacy: bool = False

    @property
    def forced(self) -> str | None:
        """The function the model must call, when the request names one."""
        return self.choice["function"]["name"] if isinstance(self.choice, dict) else None

    @property
    def offered(self) -> list[dict]:
        """The tools the model may call."""
        if forced := self.forced:
            return [t for t in self.tools if t["function"]["name"] == forced]
        return self.tools if self.choice != "none" else []


def tool_request(given: dict) -> ToolRequest | None:
    """The request's tools (or deprecated functions) and choice; None when it offers none."""
    tools, functions = given.get("tools"), given.get("functions")
    if tools is not None and functions is not None:
        raise ApiError("Give 'tools' or the deprecated 'functions', not both.", param="functions")
    if functions is not None:
        if not isinstance(functions, list):
            raise ApiError("'functions' must be a list.", param="functions")
        tools = [{"type": "function", "function": f} for f in functions]
        choice = _legacy_choice(given.get("function_call"))
        parallel, legacy, where = False, True, "functions"
    else:
        if given.get("function_call") not in (None, "none", "auto"):
            raise ApiError("'function_call' needs 'functions'.", param="function_call")
        choice = given.get("tool_choice", "auto")
        parallel = given.get("parallel_tool_calls", True)
        if not isinstance(parallel, bool):
            raise ApiError(
                "'parallel_tool_calls' must be true or false.", param="parallel_tool_calls"
            )
        legacy, where = False, "tools"
    if not tools:
        if tools is not None and not isinstance(tools, list):
            raise ApiError(f"'{where}' must be a list.", param=where)
        if choice not in ("none", "auto"):
            raise ApiError("'tool_choice' needs 'tools'.", param="tool_choice")
        return None
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise ApiError(f"'{where}' must be a list of up to {MAX_TOOLS} tools.", param=where)
    cleaned = [_tool(tool, f"{where}[{index}]") for index, tool in enumerate(tools)]
    names = [t["function"]["name"] for t in cleaned]
    if len(set(names)) < len(names):
        raise ApiError("Each tool needs a name of its own.", param=where)
    return ToolRequest(cleaned, _choice(choice, names), parallel, legacy)


def _tool(tool, where: str) -> dict:
    if not isinstance(tool, dict) or tool.get("type", "function") != "function":
        raise ApiError(f"'{where}' must be a tool of type 'function'.", param=where)
    function = tool.get("function")
    if not isinstance(function, dict):
        raise ApiError(f"'{where}.function' must be an object.", param=f"{where}.function")
    name = function.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ApiError(
            f"'{where}.function.name' must be 1 to 64 letters, digits, '_' or '-'.",
            param=f"{where}.function.name",
        )
    description = function.get("description")
    if description is not None and not isinstance(description, str):
        raise ApiError(
            f"'{where}.function.description' must be a string.",
            param=f"{where}.function.description",
        )
    parameters = function.get("parameters")
    if parameters is None:
        parameters = NO_PARAMETERS
    where_parameters = f"{where}.function.parameters"
    if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
        raise ApiError(
            f"'{where_parameters}' must be a JSON schema of an object.", param=where_parameters
        )
    try:
        Grammar().schema(parameters, where=where_parameters)
    except SchemaUnsupported as exc:
        raise ApiError(f"This schema cannot be used: {exc}.", param=where_parameters) from None
    cleaned = {"name": name, "parameters": parameters}
    if description is not None:
        cleaned["description"] = description
    return {"type": "function", "function": cleaned}


def _choice(choice, names: list[str]):
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        # Chat's {"function": {"name"}}, or the Responses API's {"name"}.
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else choice.get("name")
        if name in names:
            return {"type": "function", "function": {"name": name}}
        raise ApiError(f"'tool_choice' names {name!r}, which is not a tool.", param="tool_choice")
    raise ApiError(
        '\'tool_choice\' must be none, auto, required or {"type": "function", "function": '
        '{"name": ...}}.',
        param="tool_choice",
    )


def _legacy_choice(choice):
    if choice is None:
        return "auto"
    if choice in ("auto", "none"):
        return choice
    if isinstance(choice, dict) and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise ApiError("'function_call' must be none, auto or {\"name\": ...}.", param="function_call")


def tool_path(model) -> str:
    """NATIVE when the model's template writes Hermes-style tool calls, else GENERIC."""
    source = template_source(model)
    return NATIVE if CALL_OPEN in source and "tools" in source else GENERIC


def grammar(request: ToolRequest, path: str, response: dict | None = None) -> str:
    """The GBNF the answer keeps to ("" for none): a well-formed call of an offered tool,
    with arguments that follow its schema; under `auto` on the generic path, that or a
    reply (a string, or `response`: the JSON schema the reply must follow)."""
    offered = request.offered
    if not offered or (path == NATIVE and request.choice == "auto"):
        return ""  # native auto: the model writes freely, its tags are read afterwards
    g = Grammar()
    calls = []
    for tool in offered:
        function = tool["function"]
        name, where = function["name"], f"tool {function['name']}"
        arguments = g.schema(function["parameters"], f"{name}-arguments", where)
        calls.append(g.object(f"{name}-call", [("name", g.value(name)), ("arguments", arguments)]))
    call = calls[0] if len(calls) == 1 else g.rule("call", " | ".join(calls))
    if path == NATIVE:
        block = g.rule("tool-call", f'"{CALL_OPEN}" space {call} "{CALL_CLOSE}"')
        return g.text(f"{block} ( space {block} )*" if request.parallel else block)
    if request.parallel:
        wrapper = g.object("tool-calls", [("tool_calls", g.array("calls", call, 1))])
    else:
        wrapper = g.object("tool-call-reply", [("tool_call", call)])
    if request.choice != "auto":
        return g.text(wrapper)
    reply = g.schema(response, "response-value") if response else g.primitive("string")
    return g.text(f"{wrapper} | {g.object('reply', [('response', reply)])}")


def sampling(request: ToolRequest | None, path: str) -> dict:
    """What the answer's sampling keeps of the tools, for the worker's prompt."""
    if request is None:
        return {"tool_format": path}
    return {
        "tools": request.tools,
        "tool_choice": request.choice,
        "parallel_tool_calls": request.parallel,
        "tool_format": path,
    }
