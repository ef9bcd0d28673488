"""N simulated users asking at once through the running system, round by round.

Each round runs plain llama-cpp-python once, then each path (the streaming API, the
browser's WebSocket) with N users at once, then llama-server with N parallel slots, one
after the other, so that all of them meet the machine in the same state
(docs/performance.md). `manage.py bench` without a mode runs it.
"""

import asyncio
import time
import uuid
from contextlib import nullcontext

from django.contrib.auth import get_user_model

from inference.bench import ttft_steps, websocket_path
from inference.bench.llama_server import llama_server
from inference.bench.load import (
    follow_up,
    over_rounds,
    reference_figures,
    run_users,
    summarise,
    total_ratios,
    ttft_deltas,
    ttft_ratios,
)
from inference.bench.raw import RawFigures, RawReference
from inference.bench.targets import target_lines
from webui.api.models import ApiKey

QUESTION = "Tell me a long story about a lighthouse keeper and a storm."
COLUMNS = [
    ("users", "users"),
    ("ttft_p50_ms", "ttft p50 ms"),
    ("ttft_p95_ms", "ttft p95 ms"),
    ("tok_s_per_user", "tok/s/user"),
    ("tok_s_total", "tok/s total"),
    ("raw_tok_s", "raw tok/s"),
    ("raw_ttft_ms", "raw ttft ms"),
    ("ratio_per_user", "user/raw"),
    ("ratio_total", "total/raw"),
    ("ws_ttft_p50_ms", "ws ttft p50"),
    ("ws_tok_s_per_user", "ws tok/s/user"),
    ("ws_tok_s_total", "ws tok/s tot"),
    ("llama_server_tok_s_total", "llama-server"),
    ("llama_server_tok_s_per_user", "l-s tok/s/usr"),
    ("llama_server_ttft_p50_ms", "l-s ttft p50"),
    ("llama_server_ttft_p95_ms", "l-s ttft p95"),
    ("ttft_over_raw_ms", "ttft-raw ms"),
    ("ws_ttft_over_raw_ms", "ws ttft-raw"),
    ("total_vs_llama_server", "total/l-s"),
    ("ws_total_vs_llama_server", "ws total/l-s"),
    ("ttft_p50_vs_llama_server", "ttft/l-s"),
    ("ws_ttft_p50_vs_llama_server", "ws ttft/l-s"),
    # Where the first token's wait goes (inference/bench/ttft_steps.py), ms after sending.
    ("stored_p50_ms", "stored p50"),
    ("claimed_p50_ms", "claimed p50"),
    ("first_token_made_p50_ms", "1st tok made"),
    ("ws_stored_p50_ms", "ws stored"),
    ("ws_claimed_p50_ms", "ws claimed"),
    ("ws_first_token_made_p50_ms", "ws 1st tok"),
]
PATHS = ("api", "websocket")


def user_question() -> str:
    """A simulated user's question: the same words, with a tag of its own in front, so that
    no answer reads a prompt another one left in a cache. Plain llama-cpp-python is asked
    questions made here too: a shorter tag would give it a shorter prompt to read."""
    return f"[{uuid.uuid4().hex[:8]}] {QUESTION}"


def _bodies(body: dict, count: int) -> list[dict]:
    """One request per user, each its own conversation (no shared prompt to reuse)."""
    return [
        {**body, "messages": [{"role": "user", "content": user_question()}]} for _ in range(count)
    ]


# A pause before each path and reference of a round: what the one before left running
# (the system's bookkeeping after its answers end, plain llama-cpp-python's threads) is
# over when the next one starts, and every one of them starts from the same idle machine.
SETTLE_SECONDS = 0.5


def settle() -> None:
    time.sleep(SETTLE_SECONDS)


def _warm(url: str, keys: list[str], body: dict) -> None:
    """One short answer, not timed: connections opened, the first decode done."""
    asyncio.run(run_users(url, keys[:1], _bodies({**body, "max_tokens": 4}, 1)))


def measure(
    record,
    url: str,
    counts: list[int],
    *,
    max_tokens: int,
    threads: int,
    paths: tuple[str, ...],
    rounds: int,
    llama_server_path: str | None,
    with_follow_up: bool,
) -> list[dict]:
    """One row of figures per user count (the keys COLUMNS names, and their quartiles)."""
    keys = api_keys(max(counts))
    body = {
        "model": record.slug,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    raw = RawReference(
        record.path,
        n_ctx=record.context_size,
        max_tokens=max_tokens,
        threads=threads,
        gpu_layers=record.gpu_layers,
    )
    try:
        # Warm the system's path once (connections, the worker's first decode), as the
        # raw reference warms its model before it is timed.
        _warm(url, keys, body)
        rows = [
            _row(count, url, record, keys, body, raw, paths, rounds, threads, llama_server_path)
            for count in counts
        ]
    finally:
        raw.close()
    if with_follow_up:
        figures = asyncio.run(follow_up(url, keys[0], body))
        for row in rows:
            row.update(figures)
    return rows


def _row(count, url, record, keys, body, raw, paths, rounds, threads, binary) -> dict:
    """One user count: each round runs every path and reference once, one after the
    other, so that all of them meet the machine in the same state."""
    server = (
        llama_server(
            binary,
            record.path,
            parallel=count,
            n_ctx=record.context_size,
            threads=threads,
            gpu_layers=record.gpu_layers,
        )
        if binary
        else nullcontext()
    )
    api, websocket, reference, answers = [], [], [], []
    steps = {"api": [], "websocket": []}  # each round's ttft_steps
    with server as server_url:
        if server_url:  # warmed once, as the system's path is
            _warm(server_url, keys, body)
        for _ in range(rounds):
            settle()
            answers.append(raw.ask(user_question()))
            if "api" in paths:
                settle()
                start = ttft_steps.mark()
                api.append(asyncio.run(run_users(url, keys[:count], _bodies(body, count))))
                steps["api"].append(ttft_steps.since(start, [r.sent_at for r in api[-1]]))
            if "websocket" in paths:
                settle()
                runs, round_steps = _websocket_round(url, record, count, body["max_tokens"])
                websocket.append(runs)
                steps["websocket"].append(round_steps)
            if server_url:
                settle()
                reference.append(
                    asyncio.run(run_users(server_url, keys[:count], _bodies(body, count)))
                )
    row = {"users": count}
    if api:
        row.update(_paired(summarise(count, *api), api, answers, reference))
        row.update(ttft_steps.over_rounds(steps["api"]))
    if websocket:
        figures = _paired(summarise(count, *websocket), websocket, answers, reference)
        figures.update(ttft_steps.over_rounds(steps["websocket"]))
        row.update({f"ws_{key}": value for key, value in figures.items() if key != "users"})
    if not api:  # the plain keys hold the figures of the path that ran
        row.update({key[3:]: value for key, value in row.items() if key[:3] == "ws_"})
    plain = RawFigures.median(answers)
    row.update(
        raw_tok_s=round(plain.tok_s, 1),
        raw_ttft_ms=round(plain.ttft_ms, 1),
        ratio_per_user=round(row["tok_s_per_user"] / plain.tok_s, 2) if plain.tok_s else None,
        ratio_total=round(row["tok_s_total"] / plain.tok_s, 2) if plain.tok_s else None,
    )
    if reference:
        row.update(reference_figures(count, reference))
    return row


def _paired(figures: dict, rounds: list, answers: list, reference: list) -> dict:
    """A path's figures with its comparisons made round by round (see load), each with
    the quartiles of its rounds (`_iqr`): how much a single run can be trusted."""
    deltas = ttft_deltas(rounds, [a.ttft_ms for a in answers])
    figures["ttft_over_raw_ms"], figures["ttft_over_raw_ms_iqr"] = over_rounds(deltas, 1)
    if reference:
        ratios = total_ratios(rounds, reference)
        figures["total_vs_llama_server"], figures["total_vs_llama_server_iqr"] = over_rounds(
            ratios, 2
        )
        ratios = ttft_ratios(rounds, reference)
        figures["ttft_p50_vs_llama_server"], figures["ttft_p50_vs_llama_server_iqr"] = over_rounds(
            ratios, 2
        )
    return figures


def _websocket_round(url, record, count, max_tokens) -> tuple[list, dict]:
    """The round's users' figures, and its ttft_steps."""
    # New conversations each round: no history to reuse.
    sessions = websocket_path.open_conversations(bench_users(count), record, max_tokens=max_tokens)
    texts = [user_question() for _ in range(count)]
    start = ttft_steps.mark()
    runs = asyncio.run(websocket_path.run_users(url, sessions, texts))
    return runs, ttft_steps.since(start, [r.sent_at for r in runs])


def bench_users(count: int) -> list:
    """The simulated users (made once, kept between runs)."""
    User = get_user_model()
    return [
        User.objects.get_or_create(username=f"bench-user-{index:02d}")[0] for index in range(count)
    ]


def api_keys(count: int) -> list[str]:
    """An API key for each simulated user (a new one each run)."""
    return [ApiKey.issue(user=user, name="bench")[1] for user in bench_users(count)]


def table(rows, record) -> list[str]:
    """The rows as the command prints them without --json."""
    lines = [
        f"model {record.slug}, parallel {record.parallel}, greedy",
        "  ".join(f"{title:>12}" for _, title in COLUMNS),
    ]
    for row in rows:
        lines.append("  ".join(f"{row.get(key, '-')!s:>12}" for key, _ in COLUMNS))
    if "follow_up_ttft_ms" in rows[0]:
        r = rows[0]
        lines.append(
            f"follow-up after {r['history_tokens']} tokens of history: time to first token "
            f"{r['follow_up_ttft_ms']} ms, first turn {r['first_turn_ttft_ms']} ms"
        )
    if targets := target_lines(rows):
        heading = "targets (round by round; quartiles)"
        lines.append(f"{heading:<40} {'API':>20} {'WebSocket':>20}")
        lines += targets
    return lines
