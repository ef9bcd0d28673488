"""Decode many conversations together in one llama.cpp context (continuous batching).

One scheduler thread owns the context. Each answer being written is a job bound to a
sequence slot; every step puts one token per generating job, plus chunks of the prompts
still being read, into a single multi-sequence batch, so the weights are read once for
all of them. Jobs join and leave between steps without disturbing the others. A slot
keeps its cache after its job ends, so a follow-up turn that shares the prefix only
decodes its new tokens.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterator

import llama_cpp as lc

from inference.engine import sampler_chain, slot_caches, token_logprobs
from inference.engine.arriving_group import ArrivingGroup
from inference.engine.batch_rows import BatchRows
from inference.engine.contract import AnswerFailed, GaveWay
from inference.engine.jobs import (
    BACKGROUND_CHUNK,
    Job,
    Slot,
    failed,
    family_holder,
    family_waits,
    next_fair,
)
from inference.engine.output_logits import OutputLogits
from inference.engine.pieces import PieceTable
from inference.engine.stopping import StopScanner

log = logging.getLogger(__name__)

_END = object()
UNLOADED = "The model was unloaded while this answer was being written."
GAVE_WAY = "An answer came: background work gives way to it."
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
        kv_pool: int | None = None,
    ):
        self.llm = llm
        self.vocab = llm._model.vocab
        self.n_vocab = lc.llama_vocab_n_tokens(self.vocab)
        self.n_ctx = n_ctx
        self.n_batch = n_batch
        params = lc.llama_context_default_params()
        # kv_pool: the tokens of KV cache the slots share (llama.cpp's unified cache), at
        # least one whole context; None: a whole context of its own for every slot.
        self.pooled = kv_pool is not None
        params.n_ctx = max(kv_pool, n_ctx) if self.pooled else n_ctx * parallel
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max = parallel
        params.n_threads = params.n_threads_batch = n_threads
        # Without a pool, one cache per sequence: attention for one conversation never
        # spans the others. With one, a conversation takes cells as it grows, and an
        # answer waits for room (docs/decisions/engine-kv-pool.md).
        params.kv_unified = self.pooled
        if kv_type is not None:  # the admin's KV-cache type (quantized types need flash attention)
            params.type_k = params.type_v = kv_type
        if flash_attn:
            params.flash_attn_type = lc.LLAMA_FLASH_ATTN_TYPE_ENABLED
        self.context_params = params  # as given to llama.cpp, for tests and diagnostics
        self.ctx = lc.llama_init_from_model(llm.model, params)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create a context (out of memory?)")
        self.memory = lc.llama_get_memory(self.ctx)
        self.kv_total = lc.llama_n_ctx(self.ctx)  # cells, as llama.cpp sized the cache
        # The step's rows and its logits, as numpy arrays over llama.cpp's memory, and each
        # token's bytes looked up once: a step's Python does not grow with ctypes calls
        # per token (docs/decisions/engine-step-arrays.md).
        self.rows = BatchRows(n_batch)
        self.batch = self.rows.batch
        self.outputs = OutputLogits(self.ctx, self.n_vocab)
        self.pieces = PieceTable(self.vocab, self.n_vocab)
        self.slots = [Slot(seq) for seq in range(parallel)]
        self._admitted_at = [0] * parallel  # the turn of each slot's last job: LRU eviction
        self.waiting: list[Job] = []
        self.inbox: queue.Queue = queue.Queue()
        self.turn = itertools.count()
        self.last_turn: dict[str, int] = {}
        self.closed = False
        self.steps = 0  # llama_decode calls so far
        # Time spent in them, and the decoder thread's CPU time in them: the rest of its CPU
        # time is the engine's own Python (inference.bench.engine reads both).
        self.decode_seconds = self.decode_cpu_seconds = 0.0
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
        slots = self.slots
        if self.pooled and opening:  # a head start, not a claim: at most half the pool
            slots = slots[: self.kv_total // 2 // len(opening)]
        try:
            if opening:
                per_batch = max(1, self.n_batch // len(opening))
                for start in range(0, len(slots), per_batch):
                    n = 0
                    for slot in slots[start : start + per_batch]:
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
        lc.llama_free(self.ctx)  # the batch's arrays are numpy's (self.rows)

    # The decoder thread.

    def _run(self) -> None:
        # Every llama_decode on this context runs in this thread: ggml's CPU threads
        # (OpenMP) are set up for the thread that first computes, and decoding from a
        # second thread is slower (docs/decisions/engine-one-decoder-thread.md).
        self._prime(self.opening)
        while not self.closed:
            try:
                if not self.waiting and self.inbox.empty() and any(s.job for s in self.slots):
                    # Only answers being written, none come or waiting: nothing to gather,
                    # admit or give way to, straight to the next step.
                    self._step()
                    continue
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
            if self.pooled and not slot_caches.room_for(job, self.slots, self.n_ctx, self.kv_total):
                return  # it waits for answers to end; none behind it passes it
            self.waiting.remove(job)
            self.last_turn[job.user] = next(self.turn)
            tokens = job.prompt.tokens
            slot, shared = slot_caches.slot_for(tokens, free)
            keep = min(shared, len(tokens) - 1)
            if keep < len(tokens) - 1 and (holder := family_holder(job, self.slots, slot)):
                keep = slot_caches.copy(self.memory, holder, slot, len(tokens) - 1)
            lc.llama_memory_seq_rm(self.memory, slot.seq, keep, -1)
            del slot.tokens[keep:]
            job.pending = list(tokens[keep:])
            job.slot, slot.job, slot.family = slot, job, job.family
            self._admitted_at[slot.seq] = self.last_turn[job.user]
            if self.pooled:
                slot_caches.make_room(
                    self.memory, self.slots, self.n_ctx, self.kv_total, self._admitted_at
                )
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

    def kv_tokens(self) -> tuple[int, int, int]:
        """KV cells held, of them those kept by finished conversations for their next turn,
        and the cache's size (slot_caches.tokens_held). Read from any thread."""
        return (*slot_caches.tokens_held(self.slots), self.kv_total)

    def _step(self) -> None:
        """Decode one batch: a token per generating job, and prompt chunks in the room left.

        The batch lists sequences in slot order, so that llama.cpp can put them all in one
        pass (it needs consecutive sequence ids; see slot_caches.slot_for).
        """
        for job in [s.job for s in self.slots if s.job and self._stopping(s.job)]:
            if not job.done:
                job.figures.finish_reason = "stopped"
                self._finish(job)
        active = [s.job for s in self.slots if s.job]
        # Long prompts go in chunks, so the conversations already streaming keep going.
        room = self.n_batch - sum(1 for job in active if not job.pending)
        # The batch's rows as lists, written into it in one go (BatchRows.fill); `reading`:
        # the jobs whose logits this step gives, with their rows, in batch order.
        tokens, positions, seqs, outputs, reading = [], [], [], [], []
        for job in active:
            slot = job.slot
            if not job.pending:
                token = job.last_token
                tokens.append(token)
                positions.append(len(slot.tokens))
                seqs.append(slot.seq)
                outputs.append(1)
                slot.tokens.append(token)
                reading.append((job, len(tokens) - 1))
            elif room > 0:
                take = job.pending[: min(room, BACKGROUND_CHUNK) if job.background else room]
                del job.pending[: len(take)]
                room -= len(take)
                start = len(slot.tokens)
                tokens += take
                positions += range(start, start + len(take))
                seqs += [slot.seq] * len(take)
                outputs += [0] * len(take)
                slot.tokens += take
                if not job.pending:  # the prompt's last token: its logits give the first
                    outputs[-1] = 1
                    reading.append((job, len(tokens) - 1))
        if not tokens:
            return
        self.rows.fill(tokens, positions, seqs, outputs)
        started, cpu = time.perf_counter(), time.thread_time()
        code = lc.llama_decode(self.ctx, self.batch)
        self.decode_seconds += time.perf_counter() - started
        self.decode_cpu_seconds += time.thread_time() - cpu
        if code != 0:
            raise RuntimeError(f"llama_decode failed with code {code}")
        self.steps += 1
        if reading:
            self._take_all(reading)

    def _take_all(self, reading: list[tuple[Job, int]]) -> None:
        """Give each job its next token from this step's logits.

        The logits of all rows are one array; the greedy answers (no sampler chain) have
        their picks from one argmax over it, the first of the highest logits as llama.cpp's
        greedy sampler takes it (docs/decisions/engine-greedy-pick.md); the others sample
        with their chains.
        """
        logits = self.outputs.rows(len(reading))
        greedy = any(job.sampler is None for job, _ in reading)
        picks = OutputLogits.greedy(logits) if greedy else None
        first = False
        for row, (job, index) in enumerate(reading):
            first = self._take(job, logits, row, index, picks) or first
        if first:
            time.sleep(FIRST_TOKEN_PAUSE)

    def _add(self, n: int, slot: Slot, tokens: list[int], *, logits_last: bool) -> int:
        """Put `tokens` of a slot's sequence in the batch from row `n`; return the next row."""
        n = self.rows.add(n, slot.seq, len(slot.tokens), tokens, logits_last=logits_last)
        slot.tokens += tokens
        return n

    def _take(self, job: Job, logits, row: int, index: int, picks: list[int] | None) -> bool:
        """Take one answer's next token, from its row of `logits` (batch row `index`);
        return whether it was the answer's first. What goes wrong here ends that answer
        alone."""
        doing = "picking its next token"
        first = False
        try:
            token = picks[row] if job.sampler is None else job.sampler.sample(self.ctx, index)
            if self.pieces.is_eog(token):
                job.figures.finish_reason = "stop"
                self._finish(job)
                return False
            if job.first_step is None:
                job.first_step, first = self.steps, True
            job.figures.mark_token()
            job.last_token = token
            if job.sampling.logprobs:  # before its text: a reader of the text has its logprobs
                doing = "reading its logprobs"
                job.figures.logprobs.append(
                    token_logprobs.entry(
                        logits[row], token, job.sampling.top_logprobs, self.pieces.named
                    )
                )
            doing = "turning its tokens into text"
            piece = job.decoder.decode(self.pieces.piece(token))
            doing = "looking for its stop sequences"
            text, hit = job.scanner.feed(piece) if job.scanner.stops else (piece, False)
            doing = "checking its length"
            full = (
                job.figures.completion_tokens >= min(job.sampling.max_tokens, job.prompt.max_tokens)
                or len(job.slot.tokens) + 1 >= self.n_ctx
            )
        except Exception as exc:
            self._fail(job, failed(doing, exc))
            return first
        job.emit(text)
        if hit:
            job.figures.finish_reason = "stop"
            self._finish(job, flush=False)
        elif full:
            self._finish(job)
        return first

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
