"""Simulated users asking at once over the real API, with streaming, and their figures."""

import asyncio
import json
import statistics
import time
import uuid
from dataclasses import dataclass

import httpx


@dataclass
class UserRun:
    ttft_ms: float
    tokens: int
    tok_s: float
    started: float
    ended: float
    text: str = ""
    prompt_tokens: int = 0
    sent_at: float = 0.0  # the wall clock at the request (ttft_steps lines it up with rows)

    @classmethod
    def timed(cls, started, first, last, tokens: int, text: str, prompt_tokens: int, sent_at=0.0):
        """From the clock readings at the request, the first and the last piece of text."""
        first = first or time.perf_counter()
        span = (last - first) if last and last > first else None
        return cls(
            ttft_ms=(first - started) * 1000,
            tokens=tokens,
            tok_s=(tokens - 1) / span if span and tokens > 1 else 0.0,
            started=started,
            ended=last or first,
            text=text,
            prompt_tokens=prompt_tokens,
            sent_at=sent_at,
        )


async def _one_user(client: httpx.AsyncClient, url: str, key: str, body: dict) -> UserRun:
    started, sent_at = time.perf_counter(), time.time()
    first = last = None
    tokens = prompt_tokens = 0
    parts = []
    headers = {"Authorization": f"Bearer {key}"}
    async with client.stream("POST", url, json=body, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {(await response.aread())[:300]!r}")
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            if data.get("usage"):
                tokens = data["usage"]["completion_tokens"]
                prompt_tokens = data["usage"]["prompt_tokens"]
            elif data.get("choices") and data["choices"][0]["delta"].get("content"):
                last = time.perf_counter()
                first = first or last
                parts.append(data["choices"][0]["delta"]["content"])
    tokens = tokens or len(parts)  # a server that sends no usage: one chunk per token
    return UserRun.timed(started, first, last, tokens, "".join(parts), prompt_tokens, sent_at)


async def run_users(base_url: str, keys: list[str], bodies: list[dict]) -> list[UserRun]:
    """Each key is one user; all send at once and stream their answers."""
    url = base_url.rstrip("/") + "/v1/chat/completions"
    limits = httpx.Limits(max_connections=len(keys) + 1)
    async with httpx.AsyncClient(timeout=httpx.Timeout(600), limits=limits) as client:
        return await asyncio.gather(
            *(_one_user(client, url, key, body) for key, body in zip(keys, bodies, strict=True))
        )


def percentile(values: list[float], pct: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def summarise(users: int, *rounds: list[UserRun]) -> dict:
    """Figures for one user count over one or more rounds of it.

    Times to first token and speeds per user are pooled over every user of every round;
    the total speed (and the tokens it counts) is the median of the rounds' own.
    """
    runs = [run for one_round in rounds for run in one_round]
    ttfts = [r.ttft_ms for r in runs]
    totals = [(_total(one_round), sum(r.tokens for r in one_round)) for one_round in rounds]
    total, tokens = sorted(totals)[len(totals) // 2]
    return {
        "users": users,
        "ttft_p50_ms": round(percentile(ttfts, 50), 1),
        "ttft_p95_ms": round(percentile(ttfts, 95), 1),
        "tok_s_per_user": round(statistics.mean(r.tok_s for r in runs), 1),
        "tok_s_total": total,
        "tokens": tokens,
        "rounds": len(rounds),
    }


def reference_figures(users: int, rounds: list[list[UserRun]]) -> dict:
    """llama-server's figures for one user count, under `llama_server_` keys.

    Its speed per user (once each answer has started) and its times to first token sit
    beside its total, so that a run shows where the two differ: in the start, when every
    question is read, or in the decoding that follows.
    """
    figures = summarise(users, *rounds)
    keys = ("tok_s_total", "tok_s_per_user", "ttft_p50_ms", "ttft_p95_ms")
    return {f"llama_server_{key}": figures[key] for key in keys}


def ttft_deltas(rounds: list[list[UserRun]], raw_ttfts: list[float]) -> list[float]:
    """Each round's median time to first token less plain llama-cpp-python's in the same
    round.

    Each difference is taken between answers seconds apart, so the machine's drift over
    minutes drops out of it, where the pooled p50 beside the raw median keeps it
    (docs/decisions/engine-bench-round-by-round.md).
    """
    return [
        statistics.median(run.ttft_ms for run in one_round) - raw
        for one_round, raw in zip(rounds, raw_ttfts, strict=True)
    ]


def total_ratios(rounds: list[list[UserRun]], reference: list[list[UserRun]]) -> list[float]:
    """Each round's total speed over the reference's total in the same round (paired, as
    in ttft_deltas); rounds where the reference wrote nothing are left out."""
    return [
        _total(ours) / theirs
        for ours, theirs in zip(rounds, map(_total, reference), strict=True)
        if theirs
    ]


def ttft_ratios(rounds: list[list[UserRun]], reference: list[list[UserRun]]) -> list[float]:
    """Each round's median time to first token over the reference's in the same round
    (paired, as in ttft_deltas); rounds where the reference started nothing are left out."""
    ratios = []
    for ours, theirs in zip(rounds, reference, strict=True):
        started = [run.ttft_ms for run in theirs if run.ttft_ms > 0]
        if ours and started:
            ratios.append(statistics.median(r.ttft_ms for r in ours) / statistics.median(started))
    return ratios


def over_rounds(values: list[float], digits: int) -> tuple[float | None, list[float] | None]:
    """The median of per-round figures, which the targets are judged by, and their first
    and third quartiles: how far one run's rounds spread around it. (None, None) for none.
    """
    if not values:
        return None, None
    if len(values) == 1:
        return round(values[0], digits), [round(values[0], digits)] * 2
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return round(median, digits), [round(q1, digits), round(q3, digits)]


def _total(runs: list[UserRun]) -> float:
    """All the tokens of one round over its wall time, first request to last token."""
    wall = max(r.ended for r in runs) - min(r.started for r in runs)
    return round(sum(r.tokens for r in runs) / wall, 1) if wall > 0 else 0.0


HISTORY_PARAGRAPH = (
    "The keeper wrote in the log every night: the wind, the height of the waves, the ships "
    "that passed, the colour of the sky at dusk, and what the lamp needed in the morning. "
)


async def follow_up(base_url: str, key: str, body: dict) -> dict:
    """Time a first turn after ~2,000 tokens of history, then its follow-up turn."""
    url = base_url.rstrip("/") + "/v1/chat/completions"
    log = f"[{uuid.uuid4().hex[:8]}] Here is my log.\n" + HISTORY_PARAGRAPH * 50
    history = [{"role": "user", "content": log}]
    async with httpx.AsyncClient(timeout=httpx.Timeout(600)) as client:
        first = await _one_user(client, url, key, {**body, "max_tokens": 16, "messages": history})
        history += [
            {"role": "assistant", "content": first.text},
            {"role": "user", "content": "And the next night?"},
        ]
        second = await _one_user(client, url, key, {**body, "max_tokens": 16, "messages": history})
    return {
        "history_tokens": first.prompt_tokens,
        "first_turn_ttft_ms": round(first.ttft_ms, 1),
        "follow_up_ttft_ms": round(second.ttft_ms, 1),
    }
