"""What the engine and its callers share: the values passed in and out, and `TextModel`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# An answer's place in the group of answers queued together with it (0: first), how many
# were queued behind it, and the group's id (none from older web processes); see
# inference.engine.arriving_group.
Arrival = tuple[int, int] | tuple[int, int, str]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many tokens two sequences share from their start."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PromptRefused(ValueError):
    """The prompt cannot be built from this conversation; the text says why, for its reader."""


class PromptTooLong(PromptRefused):
    """The prompt does not fit in the model's context: the newest message alone, or the
    whole conversation where turns may not be dropped (`truncate=False`)."""

    def __init__(self, text: str, *, prompt_tokens: int = 0, n_ctx: int = 0):
        super().__init__(text)
        self.prompt_tokens = prompt_tokens
        self.n_ctx = n_ctx


class AnswerFailed(RuntimeError):
    """One answer could not go on (the others decoded beside it do); the text says why."""


class GaveWay(RuntimeError):
    """A background job (a conversation's title) gave its place to answers; it may be tried
    again later."""


@dataclass
class Prompt:
    """The tokens to read, how many old turns were left out, and the room left to answer."""

    tokens: list[int]
    dropped_turns: int
    max_tokens: int


@dataclass
class Sampling:
    """How to pick each next token, and where to end."""

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    # OpenAI's penalties (0: none) and llama.cpp's repetition penalty (1.0: none), over
    # the last PENALTY_LAST_N tokens of the answer's sequence.
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    repeat_penalty: float = 1.0
    # Token id → bias added to its logit (-100 bans it, 100 all but forces it).
    logit_bias: dict[int, float] = field(default_factory=dict)
    # A GBNF grammar (root rule "root") every token of the answer must keep to; "" for none.
    grammar: str = ""
    # Report each token's log-probability, and this many of the likeliest alternatives
    # (0 to 20), in Figures.logprobs.
    logprobs: bool = False
    top_logprobs: int = 0


@dataclass
class Figures:
    """What one generation cost: filled in while tokens stream."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_ms: float | None = None
    tokens_per_second: float | None = None
    finish_reason: str = "stop"
    cached_tokens: int = 0
    # One entry per token when Sampling.logprobs asks (OpenAI's shape): {"token", "logprob",
    # "bytes", "top_logprobs": [{"token", "logprob", "bytes"}, ...]}; appended by the
    # decoder as it goes, so a reader may take the new ones while the answer streams.
    logprobs: list[dict] = field(default_factory=list)
    _started: float = field(default_factory=time.perf_counter, repr=False)
    _first_token_at: float | None = field(default=None, repr=False)

    def mark_token(self) -> None:
        """Count one more token of the answer, and time it."""
        now = time.perf_counter()
        if self._first_token_at is None:
            self._first_token_at = now
            self.ttft_ms = (now - self._started) * 1000
        self.completion_tokens += 1
        if self.completion_tokens > 1:
            self.tokens_per_second = (self.completion_tokens - 1) / (now - self._first_token_at)


class TextModel(Protocol):
    """What the worker needs from a model; tests use a fake with canned chunks."""

    n_ctx: int

    def build_prompt(
        self,
        messages: Sequence[dict],
        max_tokens: int,
        *,
        answer_prefix: str = "",
        tools: Sequence[dict] | None = None,
        truncate: bool = True,
    ) -> Prompt:
        """Render a conversation with the model's chat template, fitted to its context.

        `answer_prefix` is the start of the answer, already written, for the model to go on
        from. `tools`: OpenAI-style tool definitions, rendered as the template takes them.
        With `truncate` false no turn is dropped: a conversation that does not fit raises
        PromptTooLong with its size. Raises PromptTooLong when even the newest message alone
        does not fit, and another PromptRefused when the chat template cannot render it
        within its limits.
        """
        ...

    def build_raw_prompt(self, text: str, max_tokens: int) -> Prompt:
        """Tokenize a plain prompt as it is, with no chat template."""
        ...

    def stream(
        self,
        prompt: Prompt,
        sampling: Sampling,
        figures: Figures,
        should_stop: Callable[[], bool],
        *,
        user: str = "",
        priority: int = 0,
        every: Callable[[], float] | None = None,
        arrival: Arrival = (0, 0),
        family: str = "",
    ) -> Iterator[str]:
        """Yield the answer's text as it is decoded, counting it in `figures`.

        Answers of one `family` (the n choices of one request) share the prompt's cache:
        it is read once and copied to the others' sequences.
        """
        ...

    def close(self) -> None:
        """Free the model's memory."""
        ...
