"""Decode many conversations together in one llama.cpp context (continuous batching).

One scheduler thread owns the context. Each answer being written is a job bound to a
sequence slot; every step puts one token per generating job, plus chunks of the prompts
still being read, into a single multi-sequence batch, so the weights are read once for
all of them. Jobs join and leave between steps without disturbing the others. A slot
keeps its cache after its job ends, so a follow-up turn that shares the prefix only
decodes its new tokens.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterator

import llama_cpp as lc
import numpy as np

from inference.engine import sampler_chain, token_logprobs
from inference.engine.arriving_group import ArrivingGroup
from inference.engine.contract import AnswerFailed, GaveWay, common_prefix
from inference.engine.jobs import (
    BACKGROUND_CHUNK,
    Job,
    Slot,
    failed,
    family_holder,
    family_waits,
    next_fair,
)
from inference.engine.stopping import StopScanner

log = logging.getLogger(__name__)

_END = object()
UNLOADED = "The model was unloaded while this answer was being written."
GAVE_WAY = "An answer came: background work gives way to it."
# A free slot whose cache shares at least this many tokens with a new prompt is reused;
# below it, the lowest free slot is taken (see BatchEngine._slot_for).
REUSE_MIN_TOKENS = 64
# After a step that gave an answer its first token, the decoder steps aside this long, so
# that the answer's thread, Redis and the web server have a core to deliver it: on a CPU
# the next step's threads take every core. Once per answer
# (docs/decisions/engine-first-token-pause.md).
FIRST_TOKEN_PAUSE = 0.002


class BatchEngine:
    """Owns a llama.cpp context with `parallel` sequences and the thread that decodes them."""

    def __init__(
        self,
        llm,
        *,
        parallel: int,
        n_ctx: int,
        n_threads: int,
        n_batch: int = 512,
        kv_type: int | None = None,
        flash_attn: bool = False,
        opening: list[int] | None = None,
    ):
        self.llm = llm
        self.vocab = llm._model.vocab
        self.n_vocab = lc.llama_vocab_n_tokens(self.vocab)
        self.n_ctx = n_ctx
        self.n_batch = n_batch
        params = lc.llama_context_default_params()
        params.n_ctx = n_ctx * parallel
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max = parallel
        params.n_threads = params.n_threads_batch = n_threads
        # One cache per sequence: attention for one conversation never spans the
        # others, so its tokens do not depend on what else is being decoded.
        params.kv_unified = False
        if kv_type is not None:  # the admin's KV-cache type (quantized types need flash attention)
            params.type_k = params.type_v = kv_type
        if flash_attn:
            params.flash_attn_type = lc.LLAMA_FLASH_ATTN_TYPE_ENABLED
        self.context_params = params  # as given to llama.cpp, for tests and diagnostics
        self.ctx = lc.llama_init_from_model(llm.model, params)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create a context (out of memory?)")
        self.memory = lc.llama_get_memory(self.ctx)
        self.batch = lc.llama_batch_init(n_batch, 0, parallel)
        self._piece_buffer = ctypes.create_string_buffer(256)  # reused: one token at a time
        self._named = functools.partial(self._piece, special=True)  # logprobs show control tokens
        self.slots = [Slot(seq) for seq in range(parallel)]
        self.waiting: list[Job] = []
        self.inbox: queue.Queue = queue.Queue()
        self.turn = itertools.count()
        self.last_turn: dict[str, int] = {}
        self.closed = False
        self.steps = 0  # llama_decode calls so far
        self.group = ArrivingGroup()
        self.opening = list(opening or [])
        self.primed = threading.Event()
        self.thread = threading.Thread(target=self._run, name="batch-decoder", daemon=True)
        self.thread.start()

    def _prime(self, opening: list[int]) -> None:
        """Read the opening every prompt shares (the template's start, a default system
        prompt) into every slot's cache, so that no conversation reads it again.

        A slot keeps its cache between answers anyway; this spares the first answers in
        each slot too, which is when many users arrive at once at a fresh worker. A model
        that cannot do it answers all the same, only without the head start.
        """
        opening = opening[: min(self.n_ctx, self.n_batch) // 2]
        try:
            if opening:
                per_batch = max(1, self.n_batch // len(opening))
                for start in range(0, len(self.slots), per_batch):
                    n = 0
                    for slot in self.slots[start : start + per_batch]:
                        n = self._add(n, slot, opening, logits_last=False)
                    self.batch.n_tokens = n
                    if (code := lc.llama_decode(self.ctx, self.batch)) != 0:
                        raise RuntimeError(f"llama_decode failed with code {code}")
        except Exception:
            log.exception("could not read the prompts' opening into the cache; going on")
            for slot in self.slots:
                lc.llama_memory_seq_rm(self.memory, slot.seq, 0, -1)
                slot.tokens.clear()
        finally:
            self.primed.set()

    # Called from any thread.

    def stream(self, job: Job) -> Iterator[str]:
        """Queue a job and yield its text until it ends: the first piece at once, then
        what came in each `job.every` seconds, joined."""
        if self.closed:
            raise RuntimeError(UNLOADED)
        self.inbox.put(job)
        wait = None
        while True:
            items = job.out.take(wait)
            if text := "".join(item for item in items if isinstance(item, str)):
                yield text
                wait = (job.every and job.every()) or None
            for item in items:
                if isinstance(item, BaseException):
                    raise item
                if item is _END:
                    return

    def close(self) -> None:
        """Stop decoding and free the context; answers still in it end with an error."""
        self.closed = True
        self.inbox.put(None)
        self.thread.join(timeout=10)
        self._collect(block=False)
        for job in self.waiting + [slot.job for slot in self.slots if slot.job]:
            self._finish(job, flush=False, error=RuntimeError(UNLOADED))
        lc.llama_batch_free(self.batch)
        lc.llama_free(self.ctx)

    # The decoder thread.

    def _run(self) -> None:
        # Every llama_decode on this context runs in this thread: ggml's CPU threads
        # (OpenMP) are set up for the thread that first computes, and decoding from a
        # second thread is slower (docs/decisions/engine-one-decoder-thread.md).
        self._prime(self.opening)
        while not self.closed:
            try:
                room = sum(1 for s in self.slots if s.job is None)
                gathering = self.group.wait_left(time.monotonic(), room)
                # Sleep until a job comes only with nothing to do: no job in a slot, and
                # none waiting (unless they wait for the rest of their group). Answers of
                # one group often end in the same step, with the next ones waiting.
                idle = not any(s.job for s in self.slots) and (not self.waiting or gathering)
                self._collect(block=idle, timeout=gathering)
                self._give_way()
                if not self.group.wait_left(time.monotonic(), room):
                    self._admit()
                if any(s.job for s in self.slots):
                    self._step()
            except Exception as exc:  # never leave a caller waiting forever
                # Only what the whole batch shares gets here (llama_decode): what one
                # answer does wrong ends that answer alone (see _fail).
                log.exception("batch step failed")
                for slot in self.slots:
                    if slot.job:
                        self._finish(slot.job, error=exc)
                        # Its cache may hold tokens that were never decoded.
                        lc.llama_memory_seq_rm(self.memory, slot.seq, 0, -1)
                        slot.tokens.clear()

    def _collect(self, *, block: bool, timeout: float | None = None) -> None:
        try:
            job = self.inbox.get(block=block, timeout=timeout)
            while True:
                if job is not None:
                    self.waiting.append(job)
                    self.group.heard(*job.arrival, now=time.monotonic())
                job = self.inbox.get_nowait()
        except queue.Empty:
            return

    def _give_way(self) -> None:
        """End the background jobs (titles) as soon as an answer is in a slot or waits.

        Background work runs only in an engine that has no answer to write, so no answer
        ever shares a step with it or waits for its slot: one that comes waits for the
        step under way at most, which a background job keeps short (BACKGROUND_CHUNK).
        The slot keeps what its cache holds; the job's caller may try again later.
        """
        jobs = self.waiting + [slot.job for slot in self.slots if slot.job]
        if all(job.background for job in jobs):
            return
        for job in jobs:
            if job.background:
                if job in self.waiting:
                    self.waiting.remove(job)
                self._finish(job, flush=False, error=GaveWay(GAVE_WAY))

    def _admit(self) -> None:
        """Give free slots to waiting jobs: interactive first, then round-robin by user."""
        for job in [job for job in self.waiting if self._stopping(job)]:  # stopped in line
            self.waiting.remove(job)
            if not job.done:
                job.figures.finish_reason = "stopped"
                self._finish(job, flush=False)
        while free := [s for s in self.slots if s.job is None]:
            # An answer whose family is reading its prompt waits to copy it, without holding
            # up the others in line.
            ready = [job for job in self.waiting if not family_waits(job, self.slots)]
            if not ready:
                return
            job = next_fair(ready, self.last_turn)
            self.waiting.remove(job)
            self.last_turn[job.user] = next(self.turn)
            tokens = job.prompt.tokens
            slot, shared = self._slot_for(tokens, free)
            keep = min(shared, len(tokens) - 1)
            if keep < len(tokens) - 1 and (holder := family_holder(job, self.slots, slot)):
                keep = self._copy(holder, slot, len(tokens) - 1)
            lc.llama_memory_seq_rm(self.memory, slot.seq, keep, -1)
            del slot.tokens[keep:]
            job.pending = list(tokens[keep:])
            job.slot, slot.job, slot.family = slot, job, job.family
            job.figures.prompt_tokens = len(tokens)
            job.figures.cached_tokens = keep
            job.figures.finish_reason = "length"
            try:
                job.sampler = sampler_chain.build(job.sampling, self.vocab, self.n_vocab)
            except Exception as exc:
                self._fail(job, failed("setting up its sampling", exc))
                continue
            try:
                job.scanner = StopScanner(job.sampling.stop)
            except Exception as exc:
                self._fail(job, failed("reading its stop sequences", exc))

    def _copy(self, source: Slot, dest: Slot, keep: int) -> int:
        """Copy the first `keep` tokens of one slot's cache into another's; return `keep`.

        With a cache per sequence llama.cpp copies whole caches only (and does it at the
        next decode): the copy is cut back to `keep` after.
        """
        lc.llama_memory_seq_rm(self.memory, dest.seq, 0, -1)
        lc.llama_memory_seq_cp(self.memory, source.seq, dest.seq, -1, -1)
        dest.tokens[:] = source.tokens[:keep]
        return keep

    @staticmethod
    def _slot_for(tokens: list[int], free: list[Slot]) -> tuple[Slot, int]:
        """The free slot whose cache holds the longest prefix of this prompt, when that is
        a real saving (a follow-up turn), otherwise the lowest free slot; and how many
        tokens of the prompt its cache holds.

        llama.cpp decodes sequences with separate caches together only when their ids are
        consecutive: slots 0, 1, 3 take two passes over the weights per step, 0, 1, 2 one.
        Filling the lowest slots first keeps the busy ones together.
        """
        shared = [common_prefix(slot.tokens, tokens) for slot in free]
        best = max(range(len(free)), key=shared.__getitem__)
        chosen = best if shared[best] >= REUSE_MIN_TOKENS else 0
        return free[chosen], shared[chosen]

    def _step(self) -> None:
        """Decode one batch: a token per generating job, and prompt chunks in the room left.

        The batch lists sequences in slot order, so that llama.cpp can put them all in one
        pass (it needs consecutive sequence ids; see _slot_for).
        """
        for job in [s.job for s in self.slots if s.job and self._stopping(s.job)]:
            if not job.done:
                job.figures.finish_reason = "stopped"
                self._finish(job)
        active = [s.job for s in self.slots if s.job]
        # Long prompts go in chunks, so the conversations already streaming keep going.
        room = self.n_batch - sum(1 for job in active if not job.pending)
        batch, n, wants_logits = self.batch, 0, []
        for job in active:
            if not job.pending:
                n = self._add(n, job.slot, [job.last_token], logits_last=True)
                wants_logits.append((job, n - 1))
            elif room > 0:
                take = job.pending[: min(room, BACKGROUND_CHUNK) if job.background else room]
                del job.pending[: len(take)]
                room -= len(take)
                n = self._add(n, job.slot, take, logits_last=not job.pending)
                if not job.pending:
                    wants_logits.append((job, n - 1))
        if n == 0:
            return
        batch.n_tokens = n
        if (code := lc.llama_decode(self.ctx, batch)) != 0:
            raise RuntimeError(f"llama_decode failed with code {code}")
        self.steps += 1
        for job, index in wants_logits:
            self._sample(job, index)
        if any(job.figures.completion_tokens == 1 for job, _ in wants_logits):
            time.sleep(FIRST_TOKEN_PAUSE)

    def _add(self, n: int, slot: Slot, tokens: list[int], *, logits_last: bool) -> int:
        batch = self.batch
        for i, token in enumerate(tokens):
            batch.token[n] = token
            batch.pos[n] = len(slot.tokens)
            batch.n_seq_id[n] = 1
            batch.seq_id[n][0] = slot.seq
            batch.logits[n] = logits_last and i == len(tokens) - 1
            slot.tokens.append(token)
            n += 1
        return n

    def _sample(self, job: Job, index: int) -> None:
        """Take one answer's next token: what goes wrong here ends that answer alone."""
        doing = "picking its next token"
        try:
            token = self._pick(job, index)
            if lc.llama_vocab_is_eog(self.vocab, token):
                job.figures.finish_reason = "stop"
                self._finish(job)
                return
            if job.first_step is None:
                job.first_step = self.steps
            job.figures.mark_token()
            job.last_token = token
            if job.sampling.logprobs:  # before its text: a reader of the text has its logprobs
                doing = "reading its logprobs"
                job.figures.logprobs.append(
                    token_logprobs.entry(
                        self._logits(index), token, job.sampling.top_logprobs, self._named
                    )
                )
            doing = "turning its tokens into text"
            piece = job.decoder.decode(self._piece(token))
            doing = "looking for its stop sequences"
            text, hit = job.scanner.feed(piece)
            doing = "checking its length"
            full = (
                job.figures.completion_tokens >= min(job.sampling.max_tokens, job.prompt.max_tokens)
                or len(job.slot.tokens) + 1 >= self.n_ctx
            )
        except Exception as exc:
            self._fail(job, failed(doing, exc))
            return
        job.emit(text)
        if hit:
            job.figures.finish_reason = "stop"
            self._finish(job, flush=False)
        elif full:
            self._finish(job)

    def _stopping(self, job: Job) -> bool:
        """Whether the answer was asked to stop; an answer that cannot say has failed."""
        try:
            return bool(job.should_stop())
        except Exception as exc:
            self._fail(job, failed("asking whether to stop", exc))
            return True

    def _fail(self, job: Job, error: AnswerFailed) -> None:
        """End one answer with the reason it failed; the others go on as if it never came."""
        log.warning("answer failed alone: %s", error, exc_info=error.__cause__)
        self._finish(job, flush=False, error=error)

    def _pick(self, job: Job, index: int) -> int:
        """The next token from the logits of batch row `index`.

        At temperature 0 with no bias, penalty or grammar (no sampler chain), the first of
        the highest logits, as llama.cpp's greedy sampler picks it; read in place, without
        the array of every token's (id, logit, p) that llama_sampler_sample builds first
        (docs/decisions/engine-greedy-pick.md).
        """
        if job.sampler is None:
            return int(self._logits(index).argmax())
        return job.sampler.sample(self.ctx, index)

    def _logits(self, index: int) -> np.ndarray:
        """The logits of batch row `index`, in place: valid until the next decode."""
        logits = lc.llama_get_logits_ith(self.ctx, index)
        return np.ctypeslib.as_array(logits, shape=(self.n_vocab,))

    def _piece(self, token: int, special: bool = False) -> bytes:
        """A token's bytes; a control token's (end of turn) are empty unless `special`."""
        buf = self._piece_buffer
        size = lc.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
        if size < 0:
            buf = ctypes.create_string_buffer(-size)
            size = lc.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
        return buf.raw[:size]

    def _finish(self, job: Job, *, flush: bool = True, error: BaseException | None = None):
        if job.done:
            return
        job.done = True
        if flush and error is None:
            try:
                job.emit(job.scanner.flush() + job.decoder.decode(b"", final=True))
            except Exception as exc:
                error = failed("ending its text", exc)
        if error is not None:
            job.out.put(error)
        job.out.put(_END, last=True)
        if job.sampler is not None:
            job.sampler.free()
            job.sampler = None
        if job.slot is not None:
            job.slot.job = None
