"""Slots that share one KV pool (llama.cpp's unified cache), with the real model: one
conversation may use the whole context, an answer that needs more than is free waits for
room, and the pool's count of used tokens is the one llama.cpp holds."""

import threading
import time

import llama_cpp as lc
import pytest

from inference.engine.contract import Figures, Sampling
from inference.engine.jobs import Job
from inference.engine.llama import LlamaModel
from inference.engine.slot_caches import need
from webui.registry.bundled import bundled_model_path

CONTEXT, PARALLEL, POOL = 512, 4, 768
COUNTING = ", ".join(str(n) for n in range(1, 110)) + ","


@pytest.fixture(scope="module")
def model():
    model = LlamaModel(bundled_model_path(), n_ctx=CONTEXT, parallel=PARALLEL, kv_cache_tokens=POOL)
    assert model.engine.primed.wait(timeout=60)
    yield model
    model.close()


def _job(model, text: str, max_tokens: int, *, raw: bool = False) -> Job:
    if raw:
        prompt = model.build_raw_prompt(text, max_tokens)
    else:
        prompt = model.build_prompt([{"role": "user", "content": text}], max_tokens)
    return Job(prompt, Sampling(0.0, 1.0, max_tokens), Figures(), bool)


def _start(model, job: Job, texts: dict) -> threading.Thread:
    def run():
        try:
            texts[id(job)] = "".join(model.engine.stream(job))
        except Exception as exc:  # the test says what failed
            texts[id(job)] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _assert_count_is_llama_cpps(engine) -> None:
    """What the engine counts is what llama.cpp's cache holds, sequence by sequence (read
    while the engine is idle: its decoder thread is the only other user of the cache)."""
    for slot in engine.slots:
        held = (
            lc.llama_memory_seq_pos_min(engine.memory, slot.seq),
            lc.llama_memory_seq_pos_max(engine.memory, slot.seq),
        )
        assert held == ((0, len(slot.tokens) - 1) if slot.tokens else (-1, -1)), slot.seq
    used, kept, total = engine.kv_tokens()
    assert used == sum(len(slot.tokens) for slot in engine.slots) and kept == used
    assert total == POOL


def test_the_slots_share_one_cache_of_the_pools_size(model):
    params = model.engine.context_params
    assert params.kv_unified and params.n_ctx == POOL and params.n_seq_max == PARALLEL
    assert lc.llama_n_ctx(model.engine.ctx) == POOL
    assert lc.llama_n_ctx_seq(model.engine.ctx) == POOL  # any one sequence may use it all
    opening = model.opening()
    assert all(slot.tokens == opening for slot in model.engine.slots)  # a head start
    _assert_count_is_llama_cpps(model.engine)


def test_one_conversation_can_use_the_whole_context(model):
    job = _job(model, COUNTING, 2000, raw=True)
    _start(model, job, texts := {}).join(timeout=300)

    assert isinstance(texts[id(job)], str) and texts[id(job)].strip()
    figures = job.figures
    assert figures.finish_reason == "length"
    # It ran to the context's end, not to a share of the pool.
    assert CONTEXT - 2 <= figures.prompt_tokens + figures.completion_tokens <= CONTEXT
    assert len(job.slot.tokens) == figures.prompt_tokens + figures.completion_tokens - 1
    _assert_count_is_llama_cpps(model.engine)


def test_an_answer_that_needs_more_than_is_free_waits_and_runs_when_room_comes(model):
    engine = model.engine
    question = "Write a long story about a lighthouse keeper."
    alone = _job(model, question, 300)
    _start(model, alone, alone_texts := {}).join(timeout=300)

    long = _job(model, COUNTING, 2000, raw=True)  # needs the whole context: 512 of 768
    later = _job(model, question, 300)  # needs its prompt and 300 more
    assert need(long, engine.n_ctx) + need(later, engine.n_ctx) > POOL
    texts: dict = {}
    threads = [_start(model, long, texts)]
    _wait(lambda: long.figures.completion_tokens > 0)
    threads.append(_start(model, later, texts))
    _wait(lambda: later in engine.waiting)
    time.sleep(0.5)
    assert later in engine.waiting and later.slot is None and not long.done  # it waits
    for thread in threads:
        thread.join(timeout=300)

    assert long.figures.finish_reason == "length"
    # Not failed: a whole answer. (Not compared with `alone` word for word: with a pool
    # the last bits can differ with the cache's layout; docs/decisions/engine-kv-pool.md.)
    assert isinstance(texts[id(later)], str) and later.figures.finish_reason in ("stop", "length")
    assert later.figures.completion_tokens > 20 and alone_texts[id(alone)]
    # It started only when the long one had ended (one token per step while generating).
    assert later.first_step >= long.first_step + long.figures.completion_tokens - 1
    _assert_count_is_llama_cpps(engine)


def test_finished_conversations_give_up_their_cache_least_recently_used_first(model):
    engine = model.engine
    questions = ["Describe a forest.", "Describe a city.", "Describe a desert."]
    threads = [_start(model, _job(model, question, 120), {}) for question in questions]
    for thread in threads:  # together: each leaves its cache in a slot of its own
        thread.join(timeout=300)
    _assert_count_is_llama_cpps(engine)
    before = {slot.seq: len(slot.tokens) for slot in engine.slots}
    turns = list(engine._admitted_at)

    long = _job(model, COUNTING, 2000, raw=True)
    _start(model, long, {}).join(timeout=300)

    emptied = [slot.seq for slot in engine.slots if before[slot.seq] and not slot.tokens]
    kept = [s.seq for s in engine.slots if s.tokens and s is not long.slot]
    assert emptied, "the long answer needed room that only finished conversations held"
    assert all(turns[gone] <= turns[held] for gone in emptied for held in kept)
    _assert_count_is_llama_cpps(engine)
    used, _, total = engine.kv_tokens()
    assert used <= total
