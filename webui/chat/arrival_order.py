"""Store new questions one at a time, in the order they arrive at this web process.

Storing a question and queueing its answer takes a few milliseconds of Python in one of
Django's threads. When several arrive together, their threads share the GIL and all
finish late; taken in turn, the first is queued at once and the model starts reading it
while the others are stored (docs/decisions/chat-arrival-order.md).

The line also knows each question's place among those for the same model that arrived
with it, and how many of them wait behind it: its answer carries both to the worker
(dispatch.enqueue_generation), which then reads the prompts of the whole group in one
step, as llama.cpp's server does with questions that arrive together (see
inference.engine.batching). Questions for other models are stored in the same line but are not
counted: another worker reads them. Each group has an id of its own, so that a worker
served by several web processes (or web hosts) tells their groups apart.
"""

import asyncio
import secrets
import weakref
from collections import Counter
from contextlib import asynccontextmanager
from contextvars import ContextVar

_LINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Set while a question is being stored: its line, its model, its place in its group and
# the group's id.
_PLACE: ContextVar[tuple["_Line", str, int, str] | None] = ContextVar("place_in_line", default=None)


class _Line:
    def __init__(self):
        self.lock = asyncio.Lock()
        # By model: the questions in line (the one being stored included), and how many of
        # the group in line now were stored (the line held none for the model before it).
        self.questions: Counter[str] = Counter()
        self.stored: Counter[str] = Counter()
        # By model: the id of the group in line now.
        self.group: dict[str, str] = {}


def _line() -> _Line:
    """This event loop's line (an asyncio lock belongs to the loop it is used in)."""
    loop = asyncio.get_running_loop()
    if (line := _LINES.get(loop)) is None:
        line = _LINES[loop] = _Line()
    return line


@asynccontextmanager
async def in_arrival_order(model: str = ""):
    """Hold from a question's arrival until its answer is queued; first come, first served.

    `model`: the slug of the model it asks, as far as it is known on arrival.
    """
    line = _line()
    if not line.questions[model]:
        line.group[model] = secrets.token_hex(4)
    line.questions[model] += 1
    try:
        async with line.lock:
            # Seen by the storing code, in Django's sync thread too (sync_to_async carries
            # the context there).
            token = _PLACE.set((line, model, line.stored[model], line.group[model]))
            line.stored[model] += 1
            try:
                yield
            finally:
                _PLACE.reset(token)
    finally:
        line.questions[model] -= 1
        if not line.questions[model]:
            del line.questions[model], line.stored[model], line.group[model]


async def after_arrivals() -> None:
    """Wait until the questions in line now are stored (those that come later do not count)."""
    async with _line().lock:
        pass


def arrival() -> tuple[int, int, str]:
    """The place of the question being stored now among those for its model that arrived
    with it, how many of them wait behind it now, and their group's id; (0, 0, "") for a
    lone question, or outside the line."""
    if (held := _PLACE.get()) is None:
        return 0, 0, ""
    line, model, place, group = held
    behind = line.questions[model] - 1
    return (place, behind, group) if place or behind else (0, 0, "")
