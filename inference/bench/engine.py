"""The batch engine alone against llama.cpp's `llama-batched-bench`, on the same model file.

No web, no Redis, no worker: N greedy answers of ANSWER_TOKENS tokens each, decoded
together by a BatchEngine of N slots, read by a thread each as the worker reads them. In
the same run, round by round, `llama-batched-bench -npl N` decodes as many sequences on
the same file with the same context, batch, threads and KV layout.

Both figures count the same tokens over the same phase, the decoding after the prompts:
llama-batched-bench's S_TG (`speed_tg`: npl × ntg tokens over the time of its ntg steps,
one token per sequence each, logits computed for every row, no sampling) and the engine's
tokens after each answer's first over the time from the first answer's first token to the
last answer's last. An answer of ANSWER_TOKENS tokens takes ANSWER_TOKENS - 1 steps after
its prompt's (the prompt's step gives its first token), so llama-batched-bench runs with
-ntg ANSWER_TOKENS - 1 and -npp PROMPT_TOKENS: the same steps, at the same positions.
What the engine's figure has more is its own work per step: filling the batch, reading
the logits, picking, detokenizing, stop scanning, handing the text over.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from inference.bench.load import over_rounds
from inference.engine.contract import Figures, Prompt, Sampling

ANSWER_TOKENS = 128
# Short prompts, so that even 32 of them are read in one step (n_batch 512), as
# llama-batched-bench reads its own: then every answer starts decoding at the same step.
PROMPT_TOKENS = 16
N_BATCH = 512
# Context per slot: the prompt and the answer, rounded up to llama.cpp's padding.
SLOT_CONTEXT = 256
# The worker's text hand-over cadence with this many answers (see streamer.flush_interval).
FLUSH_SECONDS, FLUSH_SECONDS_MAX = 0.05, 0.15


class EngineBenchError(RuntimeError):
    """The bench could not run: the text says why."""


@dataclass
class EngineRound:
    tok_s: float  # the decoding phase's tokens over its time, all answers together
    tokens: int  # tokens counted (each answer's after its first)
    # The decoder thread's CPU time outside llama_decode (the engine's own Python), per
    # answer per step: unlike wall time, hardly changed by what else the machine runs.
    python_us_per_answer_step: float
    steps: int


def measure(
    model_path: str,
    counts: list[int],
    batched_bench: str,
    *,
    rounds: int = 5,
    threads: int | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> list[dict]:
    """Figures per answer count, each round the engine then llama-batched-bench."""
    from llama_cpp import Llama

    from inference.engine.batching import BatchEngine

    threads = threads or os.cpu_count() or 1
    if not os.access(batched_bench, os.X_OK):
        raise EngineBenchError(f"{batched_bench} is not an executable (make llama-tools)")
    llm = Llama(model_path=model_path, n_ctx=64, n_batch=64, n_threads=threads, verbose=False)

    def engine_of(count: int):
        return BatchEngine(
            llm, parallel=count, n_ctx=SLOT_CONTEXT, n_threads=threads, n_batch=N_BATCH
        )

    # One engine alive at a time: an idle engine's decoder and ggml threads cost the
    # measured one a share of the cores (three alive cut the 1-answer figure to a quarter).
    try:
        engine = engine_of(max(counts))
        try:
            prompts = _prompts(engine, llm, max(counts), log)
        finally:
            engine.close()
        rows = []
        for count in counts:
            engine = engine_of(count)
            try:
                ours, theirs = [], []
                for number in range(rounds):
                    ours.append(engine_round(engine, prompts[:count]))
                    theirs.append(batched_bench_round(batched_bench, model_path, engine, count))
                    log(
                        f"{count} answers, round {number + 1}/{rounds}: engine "
                        f"{ours[-1].tok_s:.0f} tok/s, llama-batched-bench "
                        f"{theirs[-1]['speed_tg']:.0f} tok/s"
                    )
                rows.append(_row(count, ours, theirs, engine))
            finally:
                engine.close()
        return rows
    finally:
        llm.close()


def _row(count: int, ours: list[EngineRound], theirs: list[dict], engine) -> dict:
    ratios = [o.tok_s / t["speed_tg"] for o, t in zip(ours, theirs, strict=True) if t["speed_tg"]]
    ratio, ratio_iqr = over_rounds(ratios, 3)
    params = engine.context_params
    return {
        "users": count,
        "engine_tok_s_total": round(statistics.median(o.tok_s for o in ours), 1),
        "batched_bench_tok_s": round(statistics.median(t["speed_tg"] for t in theirs), 1),
        "engine_vs_batched_bench": ratio,
        "engine_vs_batched_bench_iqr": ratio_iqr,
        "python_us_per_answer_step": round(
            statistics.median(o.python_us_per_answer_step for o in ours), 1
        ),
        "engine_step_ms": round(1000 * count / statistics.median(o.tok_s for o in ours), 3),
        "batched_bench_step_ms": round(
            1000 * count / statistics.median(t["speed_tg"] for t in theirs), 3
        ),
        "tokens": ours[0].tokens,
        "rounds": len(ours),
        "prompt_tokens": PROMPT_TOKENS,
        "answer_tokens": ANSWER_TOKENS,
        "n_ctx": params.n_ctx,
        "kv_unified": bool(params.kv_unified),
        "threads": params.n_threads,
    }


def _prompts(engine, llm, count: int, log) -> list[list[int]]:
    """`count` prompts of PROMPT_TOKENS ordinary tokens whose greedy answers run the whole
    ANSWER_TOKENS: a random-weight model can say end-of-text early, and an answer that ends
    early would leave the others a smaller batch than llama-batched-bench's."""
    rng = random.Random(25)
    n_vocab = engine.n_vocab
    ordinary = [t for t in range(min(n_vocab, 20000)) if not _special(llm, t)]
    prompts: list[list[int]] = []
    for _ in range(20):
        tried = [rng.sample(ordinary, PROMPT_TOKENS) for _ in range(count - len(prompts))]
        for prompt, (tokens, _) in zip(tried, _answers(engine, tried), strict=True):
            if tokens == ANSWER_TOKENS:
                prompts.append(prompt)
        if len(prompts) == count:
            return prompts
    log(f"only {len(prompts)} of {count} prompts give a full answer")
    raise EngineBenchError("the model ends most answers early: no prompts for a full batch")


def _special(llm, token: int) -> bool:
    import llama_cpp as lc

    attr = lc.llama_vocab_get_attr(llm._model.vocab, token)
    return bool(attr & (lc.LLAMA_TOKEN_ATTR_CONTROL | lc.LLAMA_TOKEN_ATTR_UNKNOWN))


def _answers(engine, prompts: list[list[int]]) -> list[tuple[int, Figures]]:
    """Decode greedy answers to `prompts` together, each read by a thread as the worker's
    are; return each one's token count and figures."""
    from inference.engine.jobs import Job

    count = len(prompts)
    interval = min(FLUSH_SECONDS * count, FLUSH_SECONDS_MAX)
    jobs = [
        Job(
            Prompt(list(prompt), 0, ANSWER_TOKENS),
            Sampling(temperature=0.0, top_p=1.0, max_tokens=ANSWER_TOKENS),
            Figures(),
            bool,
            user=f"bench-{index}",
            every=lambda: interval,
            arrival=(index, count - 1 - index),  # one group: read in one step
        )
        for index, prompt in enumerate(prompts)
    ]
    errors: list[BaseException] = []

    def read(job) -> None:
        try:
            for _ in engine.stream(job):
                pass
        except BaseException as exc:  # noqa: BLE001 - reported below, after the others end
            errors.append(exc)

    readers = [threading.Thread(target=read, args=(job,)) for job in jobs]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=600)
    if errors:
        raise EngineBenchError(f"an answer failed: {errors[0]}") from errors[0]
    return [(job.figures.completion_tokens, job.figures) for job in jobs]


def engine_round(engine, prompts: list[list[int]]) -> EngineRound:
    """One round of the engine: the decoding phase's speed, and its Python per answer step."""
    clock = time.pthread_getcpuclockid(engine.thread.ident)
    steps, decoding, cpu = engine.steps, engine.decode_cpu_seconds, time.clock_gettime(clock)
    answers = _answers(engine, prompts)
    cpu = time.clock_gettime(clock) - cpu
    steps, decoding = engine.steps - steps, engine.decode_cpu_seconds - decoding
    firsts = [figures._first_token_at for _, figures in answers]
    lasts = [
        figures._first_token_at + (tokens - 1) / figures.tokens_per_second
        for tokens, figures in answers
    ]
    counted = sum(tokens - 1 for tokens, _ in answers)
    window = max(lasts) - min(firsts)
    python = max(cpu - decoding, 0.0)
    return EngineRound(
        tok_s=counted / window if window > 0 else 0.0,
        tokens=counted,
        python_us_per_answer_step=1e6 * python / max(steps, 1) / len(prompts),
        steps=steps,
    )


def batched_bench_command(binary: str, model_path: str, engine, count: int) -> list[str]:
    """llama-batched-bench with the engine's context: size, batch, threads, KV layout and
    attention, decoding `count` sequences for the steps the engine's answers take."""
    params = engine.context_params
    flash = {0: "off", 1: "on"}.get(params.flash_attn_type, "auto")
    return [
        binary,
        "-m",
        model_path,
        "-c",
        str(params.n_ctx),
        "-b",
        str(params.n_batch),
        "-ub",
        str(params.n_ubatch),
        "-t",
        str(params.n_threads),
        "-tb",
        str(params.n_threads_batch),
        "-fa",
        flash,
        "-kvu" if params.kv_unified else "-no-kvu",
        "-npp",
        str(PROMPT_TOKENS),
        "-ntg",
        str(ANSWER_TOKENS - 1),
        "-npl",
        str(count),
        "--output-format",
        "jsonl",
    ]


def batched_bench_round(binary: str, model_path: str, engine, count: int) -> dict:
    """One run of llama-batched-bench: its figures (t_tg, speed_tg, ...) as it prints them.

    A run that prints none is run once more: on a loaded machine one ended, now and then,
    with status 0 and no output at all.
    """
    command = batched_bench_command(binary, model_path, engine, count)
    for _ in range(2):
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        for line in (done.stdout + "\n" + done.stderr).splitlines():
            if line.startswith("{") and '"speed_tg"' in line:
                return json.loads(line)
    tail = (done.stderr or done.stdout)[-500:]
    raise EngineBenchError(f"llama-batched-bench gave no figures (exit {done.returncode}): {tail}")


COLUMNS = [
    ("users", "answers"),
    ("engine_tok_s_total", "engine tok/s"),
    ("batched_bench_tok_s", "batched-bench"),
    ("engine_vs_batched_bench", "ratio"),
    ("engine_vs_batched_bench_iqr", "ratio q1-q3"),
    ("engine_step_ms", "step ms"),
    ("batched_bench_step_ms", "b-b step ms"),
    ("python_us_per_answer_step", "py us/ans/step"),
]


def table(rows: list[dict]) -> list[str]:
    """The rows as a text table, with what was measured above it."""
    first = rows[0]
    lines = [
        f"engine alone vs llama-batched-bench: {first['prompt_tokens']}-token prompts, "
        f"{first['answer_tokens']}-token greedy answers, decoding phase only; "
        f"{first['rounds']} rounds (medians), {first['threads']} threads, "
        f"KV {'unified' if first['kv_unified'] else 'per sequence'}",
        "  ".join(f"{title:>14}" for _, title in COLUMNS),
    ]
    for row in rows:
        cells = []
        for key, _ in COLUMNS:
            value = row.get(key)
            if isinstance(value, list):
                value = "-".join(str(v) for v in value)
            cells.append(f"{value!s:>14}")
        lines.append("  ".join(cells))
    return lines
