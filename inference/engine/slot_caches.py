"""What each slot's KV cache holds, and where a new answer goes.

A slot keeps its cache after its answer ends, so the next answer that shares its prefix (a
follow-up turn) reads only its new tokens; answers of one family copy the prompt one of them
read. With a pool (llama.cpp's unified cache, docs/decisions/engine-kv-pool.md) the slots
share its cells: an answer starts only when every answer in a slot can grow to what it may
need, and kept caches are freed, least recently used first, to make that room.
"""

from __future__ import annotations

import llama_cpp as lc

from inference.engine.contract import common_prefix
from inference.engine.jobs import Job, Slot

# A free slot whose cache shares at least this many tokens with a new prompt is reused;
# below it, the lowest free slot is taken (see slot_for).
REUSE_MIN_TOKENS = 64


def slot_for(tokens: list[int], free: list[Slot]) -> tuple[Slot, int]:
    """The free slot whose cache holds the longest prefix of this prompt, when that is a
    real saving (a follow-up turn), otherwise the lowest free slot; and how many tokens of
    the prompt its cache holds.

    llama.cpp decodes sequences with separate caches together only when their ids are
    consecutive: slots 0, 1, 3 take two passes over the weights per step, 0, 1, 2 one.
    Filling the lowest slots first keeps the busy ones together.
    """
    shared = [common_prefix(slot.tokens, tokens) for slot in free]
    best = max(range(len(free)), key=shared.__getitem__)
    chosen = best if shared[best] >= REUSE_MIN_TOKENS else 0
    return free[chosen], shared[chosen]


def copy(memory, source: Slot, dest: Slot, keep: int) -> int:
    """Copy the first `keep` tokens of one slot's cache into another's; return `keep`.

    With a cache per sequence llama.cpp copies whole caches only (and does it at the next
    decode): the copy is cut back to `keep` after.
    """
    lc.llama_memory_seq_rm(memory, dest.seq, 0, -1)
    lc.llama_memory_seq_cp(memory, source.seq, dest.seq, -1, -1)
    dest.tokens[:] = source.tokens[:keep]
    return keep


def tokens_held(slots: list[Slot]) -> tuple[int, int]:
    """KV cells held, and of them those kept by finished conversations for their next turn
    (freed when room is needed). Answers of one family share their prompt's cells; they
    are counted once per answer."""
    held = kept = 0
    for slot in slots:
        n = len(slot.tokens)
        held += n
        kept += 0 if slot.job else n
    return held, kept


def need(job: Job, n_ctx: int) -> int:
    """The cells an answer may come to hold: its prompt and its longest answer."""
    longest = min(job.sampling.max_tokens, job.prompt.max_tokens)
    return min(n_ctx, len(job.prompt.tokens) + longest)


def room_for(job: Job, slots: list[Slot], n_ctx: int, total: int) -> bool:
    """Whether a pool of `total` cells holds what this answer and every answer in a slot
    may need.

    llama.cpp's server admits by the context alone and, when a shared cache runs out,
    fails every answer in the step; here an answer starts only when it can finish.
    """
    taken = sum(max(need(s.job, n_ctx), len(s.tokens)) for s in slots if s.job)
    return taken + need(job, n_ctx) <= total


def make_room(memory, slots: list[Slot], n_ctx: int, total: int, last_used: list[int]) -> None:
    """Free the caches of slots without a job, least recently used (`last_used`, by
    sequence) first, until every answer in a slot can grow to what it may need (room_for
    made sure they can)."""
    held = sum(len(slot.tokens) for slot in slots)
    growth = sum(max(0, need(s.job, n_ctx) - len(s.tokens)) for s in slots if s.job)
    idle = [slot for slot in slots if slot.job is None and slot.tokens]
    for slot in sorted(idle, key=lambda slot: last_used[slot.seq]):
        if held + growth <= total:
            return
        held -= len(slot.tokens)
        lc.llama_memory_seq_rm(memory, slot.seq, 0, -1)
        slot.tokens.clear()
