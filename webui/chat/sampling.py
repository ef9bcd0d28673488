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
    "raw": lambda v: _flag("raw", v),
    "via": _via,
}


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
