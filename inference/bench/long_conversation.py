"""One conversation growing past the model's context, over the browser's path.

Each turn asks for a long answer, so that the history outgrows the context after a dozen
turns; the bench goes on for ten turns past the first one that drops old turns. The time
to first token of the turns that fit is compared with that of the turns past the context,
and with plain llama-cpp-python reading a whole window once, in the same run: a turn past
the context that read its whole window again would take about that long.
"""

import asyncio
import statistics
from dataclasses import asdict, dataclass

from inference.bench import websocket_path
from inference.bench.raw import RawReference
from webui.chat.models import Message

TOPICS = (
    "the tides",
    "bread baking",
    "glaciers",
    "bees",
    "the printing press",
    "volcanoes",
    "lighthouses",
    "clocks",
    "coral reefs",
    "paper making",
    "windmills",
    "comets",
    "salt",
    "bridges",
    "owls",
    "maps",
    "rivers",
    "copper",
    "kites",
    "deserts",
)
PAST_TURNS = 10  # turns timed after the first one that dropped old turns


@dataclass
class Turn:
    turn: int
    ttft_ms: float
    prompt_tokens: int
    dropped_turns: int


def question(index: int) -> str:
    topic = TOPICS[index % len(TOPICS)]
    return f"Turn {index + 1}: write three long paragraphs about {topic}, with many details."


async def _turns(url: str, session: str, conversation_id: int, most: int) -> list[Turn]:
    turns: list[Turn] = []
    past = 0
    for index in range(most):
        run = await websocket_path._one_user(url, session, conversation_id, question(index))
        answer = await (
            Message.objects.filter(conversation_id=conversation_id, role="assistant")
            .order_by("-pk")
            .afirst()
        )
        dropped = answer.truncated_turns or 0
        turns.append(Turn(index + 1, round(run.ttft_ms, 1), run.prompt_tokens, dropped))
        past += dropped > 0
        if past > PAST_TURNS:
            break
    return turns


def measure(url: str, user, record, *, max_tokens: int, most_turns: int, threads: int) -> dict:
    """The figures of one long conversation (`manage.py bench --long-conversation`)."""
    [(session, conversation_id)] = websocket_path.open_conversations(
        [user], record, max_tokens=max_tokens
    )
    turns = asyncio.run(_turns(url, session, conversation_id, most_turns))
    inside = [t.ttft_ms for t in turns[1:] if t.dropped_turns == 0]  # the first reads all
    first_past = next((i for i, t in enumerate(turns) if t.dropped_turns), None)
    past = [t.ttft_ms for t in turns[first_past + 1 :]] if first_past is not None else []
    window = max((t.prompt_tokens for t in turns), default=0)
    plain = RawReference(
        record.path,
        n_ctx=record.context_size,
        max_tokens=1,
        threads=threads,
        gpu_layers=record.gpu_layers,
    )
    try:
        full_read = statistics.median(plain.read_ms(window) for _ in range(3))
    finally:
        plain.close()
    in_context = statistics.median(inside) if inside else None
    past_context = statistics.median(past) if past else None
    return {
        "model": record.slug,
        "context": record.context_size,
        "max_tokens": max_tokens,
        "turns": [asdict(t) for t in turns],
        "in_context_ttft_ms": round(in_context, 1) if in_context else None,
        "past_context_ttft_ms": round(past_context, 1) if past_context else None,
        "full_window_read_ms": round(full_read, 1),
        "full_window_tokens": window,
        "past_vs_in_context": (
            round(past_context / in_context, 2) if in_context and past_context else None
        ),
    }
