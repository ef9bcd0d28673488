"""The one check of an answer's sampling settings, wherever they come from.

The API's request, the conversation's settings form, an imported file and an answer's
stored settings (which an old row or a file may have filled with anything) all pass
through `clean_sampling` before a worker sees them: the shared decoder must never be
handed a value it cannot use, nor one that slows every answer beside it.
"""

import math

TEMPERATURE = (0.0, 2.0)
TOP_P = (0.0, 1.0)
MAX_TOKENS = (1, 1_000_000)
SEED = (0, 2**31 - 1)  # llama.cpp's seed is 32 bits; the API's bound keeps it positive
MAX_STOPS = 4
MAX_STOP_CHARS = 200
PENALTY = (-2.0, 2.0)  # OpenAI's frequency and presence penalties
REPEAT_PENALTY = (0.0, 2.0)  # llama.cpp's repetition penalty (1.0: none)
LOGIT_BIAS = (-100.0, 100.0)
MAX_LOGIT_BIAS = 300  # tokens one answer may bias, as OpenAI allows
MAX_GRAMMAR_CHARS = 200_000
TOP_LOGPROBS = (0, 20)
MAX_TOOLS = 128
TRUNCATION = {"auto", "disabled"}
# How the prompt shows the tools: the template's own way, or llama.cpp's generic format.
TOOL_FORMATS = {"native", "generic"}
# "via": how the answer was asked for; "raw": a plain completion, with no chat template.
VIA = {"api"}


class SamplingRejected(ValueError):
    """A sampling setting that cannot be used; the text says which and why."""

    def __init__(self, field: str, text: str):
        super().__init__(text)
        self.field = field


def _number(name: str, value, bounds: tuple[float, float]) -> float:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SamplingRejected(name, f"'{name}' must be a number.")
    if not low <= value <= high:
        raise SamplingRejected(name, f"'{name}' must be between {low:g} and {high:g}.")
    return float(value)


def _integer(name: str, value, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        raise SamplingRejected(name, f"'{name}' must be an integer.")
    if not low <= value <= high:
        raise SamplingRejected(name, f"'{name}' must be between {low} and {high}.")
    return value


def _stops(value) -> list[str]:
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or len(stops) > MAX_STOPS:
        raise SamplingRejected(
            "stop", f"'stop' must be a string or a list of up to {MAX_STOPS} strings."
        )
    for item in stops:
        if not isinstance(item, str) or not 0 < len(item) <= MAX_STOP_CHARS:
            raise SamplingRejected(
                "stop", f"Each 'stop' must be a string of 1 to {MAX_STOP_CHARS} characters."
            )
    return list(stops)


def _flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise SamplingRejected(name, f"'{name}' must be true or false.")
    return value


def _logit_bias(value) -> dict[str, float]:
    """Token ids (as JSON's string keys) → bias; the worker checks the ids against its model."""
    if not isinstance(value, dict) or len(value) > MAX_LOGIT_BIAS:
        raise SamplingRejected(
            "logit_bias", f"'logit_bias' must map up to {MAX_LOGIT_BIAS} token ids to numbers."
        )
    cleaned = {}
    for key, bias in value.items():
        token = str(key)
        if not token.isdigit() or len(token) > 9:
            raise SamplingRejected(
                "logit_bias", f"'logit_bias' keys must be token ids, not {key!r}."
            )
        cleaned[str(int(token))] = _number("logit_bias", bias, LOGIT_BIAS)
    return cleaned


def _grammar(value) -> str:
    if not isinstance(value, str) or len(value) > MAX_GRAMMAR_CHARS:
        raise SamplingRejected(
            "grammar", f"'grammar' must be GBNF text of up to {MAX_GRAMMAR_CHARS:,} characters."
        )
    return value


def _tools(value) -> list[dict]:
    """The API's tool definitions (checked in detail there), for the chat template."""
    if not isinstance(value, list) or len(value) > MAX_TOOLS:
        raise SamplingRejected("tools", f"'tools' must be a list of up to {MAX_TOOLS} tools.")
    if not all(isinstance(tool, dict) for tool in value):
        raise SamplingRejected("tools", "Each of 'tools' must be an object.")
    return value


def _tool_choice(value) -> str | dict:
    if value in ("auto", "none", "required") or isinstance(value, dict):
        return value
    raise SamplingRejected(
        "tool_choice", "'tool_choice' must be auto, none, required or a named function."
    )


def _tool_format(value) -> str:
    if value not in TOOL_FORMATS:
        raise SamplingRejected(
            "tool_format", f"'tool_format' must be one of {sorted(TOOL_FORMATS)}."
        )
    return value


def _truncation(value) -> str:
    if value not in TRUNCATION:
        raise SamplingRejected("truncation", f"'truncation' must be one of {sorted(TRUNCATION)}.")
    return value


def _via(value) -> str:
    if value not in VIA:
        raise SamplingRejected("via", f"'via' must be one of {sorted(VIA)}.")
    return value


_FIELDS = {
    "temperature": lambda v: _number("temperature", v, TEMPERATURE),
    "top_p": lambda v: _number("top_p", v, TOP_P),
    "max_tokens": lambda v: _integer("max_tokens", v, MAX_TOKENS),
    # OpenAI's newer name for max_tokens; it wins when both are given.
    "max_completion_tokens": lambda v: _integer("max_completion_tokens", v, MAX_TOKENS),
    "seed": lambda v: _integer("seed", v, SEED),
    "stop": _stops,
    "frequency_penalty": lambda v: _number("frequency_penalty", v, PENALTY),
    "presence_penalty": lambda v: _number("presence_penalty", v, PENALTY),
    "repeat_penalty": lambda v: _number("repeat_penalty", v, REPEAT_PENALTY),
    "logit_bias": _logit_bias,
    "grammar": _grammar,
    "logprobs": lambda v: _flag("logprobs", v),
    "top_logprobs": lambda v: _integer("top_logprobs", v, TOP_LOGPROBS),
    # How the prompt is built, beside how tokens are picked.
    "tools": _tools,
    "tool_choice": _tool_choice,
    "tool_format": _tool_format,
    "parallel_tool_calls": lambda v: _flag("parallel_tool_calls", v),
    "truncation": _truncation,
    "raw": lambda v: _flag("raw", v),
    "via": _via,
}
# The keys above that go to the engine's Sampling unchanged (webui.chat.selectors).
ENGINE_EXTRAS = (
    "frequency_penalty",
    "presence_penalty",
    "repeat_penalty",
    "grammar",
    "logprobs",
    "top_logprobs",
)


def clean_sampling(raw: object) -> dict:
    """Return the known settings of `raw`, checked and typed; raise SamplingRejected.

    Unknown keys are left out, and so are empty values (null, an empty stop list): they
    mean the conversation's or the model's default.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SamplingRejected("sampling", "'sampling' must be an object of settings.")
    cleaned = {}
    for name, check in _FIELDS.items():
        value = raw.get(name)
        if value is None or value == []:
            continue
        cleaned[name] = check(value)
    if "max_completion_tokens" in cleaned:
        cleaned["max_tokens"] = cleaned.pop("max_completion_tokens")
    return cleaned
