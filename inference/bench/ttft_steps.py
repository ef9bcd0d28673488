"""Where a round's time to first token goes, read from its answers' rows.

Each answer records when its question was stored and queued (`queued_at`), when a worker
claimed it (`started_at`) and the engine's time to its first token from that claim
(`ttft_ms`: the prompt built, the arrival group waited for, the prompt read). Against the
wall-clock time the round's requests went out (the median of its users' sends: they go
out together), these say how much of the first token's wait is the web server's
admission, the queue's delivery and claim, and the engine. The bench runs on the machine
that serves (one clock); only the answers the round made are read (ids past the newest
answer before it).
"""

import statistics

from django.db.models import Max

from webui.chat.models import Message

STEPS = ("stored", "claimed", "first_token_made")


def mark() -> int:
    """The newest answer's id before a round: the round's answers come after it."""
    newest = Message.objects.filter(role=Message.Role.ASSISTANT).aggregate(last=Max("id"))
    return newest["last"] or 0


def since(after_id: int, sent_at: list[float]) -> dict[str, float]:
    """The round's medians, ms after its users' requests went out (`sent_at`: their wall
    clocks), of each step (STEPS); an answer that never started counts in `stored` only."""
    sent = statistics.median(sent_at)
    rows = Message.objects.filter(role=Message.Role.ASSISTANT, id__gt=after_id).values_list(
        "queued_at", "started_at", "ttft_ms"
    )
    ends: dict[str, list[float]] = {step: [] for step in STEPS}
    for queued_at, started_at, ttft_ms in rows:
        ends["stored"].append((queued_at.timestamp() - sent) * 1000)
        if started_at is not None:
            claimed = (started_at.timestamp() - sent) * 1000
            ends["claimed"].append(claimed)
            if ttft_ms is not None:
                ends["first_token_made"].append(claimed + ttft_ms)
    return {step: statistics.median(values) for step, values in ends.items() if values}


def over_rounds(rounds: list[dict[str, float]], prefix: str = "") -> dict[str, float]:
    """The median over rounds of each step's round median, under `<prefix><step>_p50_ms`."""
    return {
        f"{prefix}{step}_p50_ms": round(statistics.median(values), 1)
        for step in STEPS
        if (values := [one[step] for one in rounds if step in one])
    }
