"""What one chat-template render may cost: steps, characters written and seconds.

A model file's template is code from whoever made the file. `Budget` is the meter that
the template environment (template.py) reads at every loop turn, call, filter, operator
and write: it ends the render, with the reason, once any of the three runs out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from jinja2.utils import Namespace

# A render of n messages holding c characters may take STEPS + STEPS_PER_MESSAGE * n steps
# and write CHARS + CHARS_PER_INPUT * c characters, in SECONDS (four times the steps and
# characters when exploring every branch). Real templates (SmolLM2's, Gemma 3's, Llama 3's,
# Qwen 3's) take 5 to 14 steps per message and write under 8 characters per character of
# input (40 and 25 exploring), far below; 10^5 steps take well under a second.
STEPS = 100_000
STEPS_PER_MESSAGE = 500
CHARS = 1_000_000
CHARS_PER_INPUT = 32
SECONDS = 2.0


class RenderOverLimits(Exception):
    """A render went over its limits; the text says which, for an admin."""


@dataclass(frozen=True)
class Limits:
    steps: int
    chars: int
    seconds: float


def limits_for(messages: Sequence[dict], *, scale: int = 1) -> Limits:
    """The limits of a render of these messages (`scale` times them, for exploring)."""
    chars = sum(len(v) for m in messages for v in m.values() if isinstance(v, str))
    return Limits(
        steps=scale * (STEPS + STEPS_PER_MESSAGE * len(messages)),
        chars=scale * (CHARS + CHARS_PER_INPUT * chars),
        seconds=SECONDS,
    )


class Budget:
    """The steps, characters and time left to one render."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.steps = limits.steps
        self.chars = limits.chars
        self.deadline = time.monotonic() + limits.seconds

    def step(self) -> None:
        """Count one loop turn, call, filter, operator or write."""
        self.steps -= 1
        if not self.steps & 63:
            self.check()

    def check(self) -> None:
        """Refuse a render past its steps or its time (looked at every 64 steps: the
        work between two steps is bounded by the characters left, so the clock is read
        often enough)."""
        if self.steps < 0:
            raise RenderOverLimits(
                f"it took more than {self.limits.steps:,} steps (loop turns, calls and writes)"
            )
        if time.monotonic() > self.deadline:
            raise RenderOverLimits(f"it took more than {self.limits.seconds:g} s")

    def afford(self, chars: int) -> None:
        """Refuse, before it runs, what would write more characters than are left."""
        if chars > self.chars:
            raise RenderOverLimits(
                f"it writes more than {self.limits.chars:,} characters (output and values)"
            )

    def charge(self, chars: int) -> None:
        if chars > self.chars:
            self.afford(chars)
        self.chars -= chars

    def charge_value(self, value: object) -> None:
        self.charge(len(value) if value.__class__ is str else self.size(value))

    def size(self, value: object) -> int:
        """About the characters value takes written out, counted no further than the
        characters left: a list that holds one string a million times is a million of it."""
        if value.__class__ is str:
            return len(value)
        cap, total, stack = self.chars + 1, 0, [value]
        while stack and total <= cap:
            item = stack.pop()
            if isinstance(item, (str, bytes)):
                total += len(item)
            elif isinstance(item, int):
                total += item.bit_length() // 3 + 1
            elif isinstance(item, dict):
                total += 2 + 2 * len(item)
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, (list, tuple, set, frozenset)):
                total += 2 + 2 * len(item)
                stack.extend(item)
            elif isinstance(item, Namespace):
                stack.append(item._Namespace__attrs)
            else:
                total += 8
        return total


_current: ContextVar[Budget] = ContextVar("template_budget", default=None)


def current() -> Budget:
    """The budget of the render under way in this thread.

    None while no render is under way: using it fails, which is also what keeps jinja2
    from folding a guarded filter into a constant when it compiles a template (it tries,
    gets an error, and leaves the filter to run in the render).
    """
    return _current.get()


def metered(budget: Budget):
    """Make budget the one this thread's render charges; reset the token when done."""
    return _current.set(budget)


def release(token) -> None:
    _current.reset(token)
