"""EmbeddingModel: a GGUF embedding model in llama.cpp's embedding mode, one vector per input.

Inputs from every caller go to one decoder thread, which packs as many sequences as fit
into each llama_decode (up to `n_batch` tokens and `parallel` sequences), so that several
requests arriving together, and the many inputs of one request, share a forward pass.
The pooling (mean, CLS, last token) is the one the file's metadata names; each vector is
scaled to unit length, as OpenAI's embeddings are.
"""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import llama_cpp as lc
import numpy as np

# Pooling types that give one vector per input; NONE (a vector per token) and RANK (a
# reranker's score) do not.
_POOLED = {
    lc.LLAMA_POOLING_TYPE_MEAN: "mean",
    lc.LLAMA_POOLING_TYPE_CLS: "cls",
    lc.LLAMA_POOLING_TYPE_LAST: "last",
}
UNLOADED = "The embedding model was unloaded."


class NotAnEmbeddingModel(ValueError):
    """The file gives no pooled vector per input (a chat model, a reranker)."""


class InputTooLong(ValueError):
    """One input has more tokens than the model reads at once."""

    def __init__(self, index: int, tokens: int, n_ctx: int):
        super().__init__(
            f"Input {index} is {tokens} tokens long; this model reads at most {n_ctx} tokens "
            "per input."
        )
        self.index, self.tokens, self.n_ctx = index, tokens, n_ctx


class BadTokenId(ValueError):
    """An input given as token ids names a token the model's vocabulary does not have."""

    def __init__(self, index: int, token: int, n_vocab: int):
        super().__init__(
            f"Input {index} has the token id {token}; this model's ids run from 0 to {n_vocab - 1}."
        )
        self.index = index


@dataclass(eq=False)
class _Work:
    """One caller's inputs, filled in by the decoder thread."""

    inputs: Sequence[Sequence[int]]
    vectors: list = field(default_factory=list)
    left: int = 0
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.vectors = [None] * len(self.inputs)
        self.left = len(self.inputs)


class EmbeddingModel:
    """A GGUF embedding model held resident for the life of the worker."""

    def __init__(
        self,
        path: str,
        *,
        n_ctx: int,
        n_gpu_layers: int = 0,
        n_threads: int = 0,
        parallel: int = 8,
        n_batch: int = 0,
    ):
        # llama.cpp's load messages go to llama-cpp-python's logger: errors only, as the
        # chat model's Llama(verbose=False) has them.
        logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
        model_params = lc.llama_model_default_params()
        model_params.n_gpu_layers = n_gpu_layers
        self.model = lc.llama_model_load_from_file(path.encode(), model_params)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {path}")
        self.vocab = lc.llama_model_get_vocab(self.model)
        self.n_vocab = lc.llama_vocab_n_tokens(self.vocab)
        self.n_ctx = min(n_ctx, lc.llama_model_n_ctx_train(self.model))
        # A non-causal model attends over a whole input at once: each input must fit in
        # one micro-batch, so the batch is never smaller than the longest input allowed.
        self.n_batch = max(n_batch or self.n_ctx, self.n_ctx)
        self.parallel = max(1, parallel)
        threads = n_threads or os.cpu_count() or 1
        params = lc.llama_context_default_params()
        params.n_ctx = self.n_batch
        params.n_batch = params.n_ubatch = self.n_batch
        params.n_seq_max = self.parallel
        params.n_threads = params.n_threads_batch = threads
        params.embeddings = True
        params.pooling_type = lc.LLAMA_POOLING_TYPE_UNSPECIFIED  # the file's own
        self.ctx = lc.llama_init_from_model(self.model, params)
        if not self.ctx:
            lc.llama_model_free(self.model)
            raise RuntimeError("llama.cpp could not create a context (out of memory?)")
        pooling = lc.llama_pooling_type(self.ctx)
        if pooling not in _POOLED:
            self._free()
            raise NotAnEmbeddingModel(
                f"{os.path.basename(path)} gives no vector per input (llama.cpp pooling type "
                f"{pooling}): it is not an embedding model."
            )
        self.pooling = _POOLED[pooling]
        self.dimensions = lc.llama_model_n_embd_out(self.model) or lc.llama_model_n_embd(self.model)
        self.memory = lc.llama_get_memory(self.ctx)
        self.batch = lc.llama_batch_init(self.n_batch, 0, self.parallel)
        self.steps = 0  # llama_decode calls so far, for tests and figures
        self.closed = False
        self.inbox: queue.Queue = queue.Queue()
        # Every llama_decode on this context runs in this one thread: ggml's CPU threads
        # are set up for the thread that first computes (engine-one-decoder-thread.md).
        self.thread = threading.Thread(target=self._run, name="embedding-decoder", daemon=True)
        self.thread.start()

    def tokenize(self, text: str) -> list[int]:
        """The text's tokens, with the special tokens the model wants around an input."""
        if self.closed:  # its vocabulary is freed: reading it would abort the process
            raise RuntimeError(UNLOADED)
        data = text.encode("utf-8", errors="replace")
        size = len(data) + 8
        while True:
            buffer = (lc.llama_token * size)()
            count = lc.llama_tokenize(self.vocab, data, len(data), buffer, size, True, False)
            if count >= 0:
                return list(buffer[:count])
            size = -count

    def check(self, inputs: Sequence[Sequence[int]]) -> None:
        """Raise InputTooLong or BadTokenId for the first input this model cannot read."""
        for index, tokens in enumerate(inputs):
            if len(tokens) > self.n_ctx:
                raise InputTooLong(index, len(tokens), self.n_ctx)
            for token in tokens:
                if not 0 <= token < self.n_vocab:
                    raise BadTokenId(index, token, self.n_vocab)

    def embed(self, inputs: Sequence[Sequence[int]]) -> np.ndarray:
        """One unit-length float32 vector per input (rows), in the inputs' order."""
        self.check(inputs)
        if not inputs:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if self.closed:
            raise RuntimeError(UNLOADED)
        work = _Work(inputs)
        self.inbox.put(work)
        # A caller that queued just as the model closed is told so, never left waiting.
        while not work.done.wait(1.0):
            if self.closed and not self.thread.is_alive():
                raise RuntimeError(UNLOADED)
        if work.error is not None:
            raise work.error
        return np.stack(work.vectors)

    def close(self) -> None:
        """Stop the decoder thread and free the model's memory; waiting callers fail."""
        if self.closed:
            return
        self.closed = True
        self.inbox.put(None)
        self.thread.join(timeout=30)
        self._fail_waiting(RuntimeError(UNLOADED))
        lc.llama_batch_free(self.batch)
        self._free()

    def _free(self) -> None:
        lc.llama_free(self.ctx)
        lc.llama_model_free(self.model)

    # The decoder thread.

    def _run(self) -> None:
        while True:
            first = self.inbox.get()
            if first is None:
                return
            works = [first]
            # Whatever else arrived meanwhile is decoded with it.
            while True:
                try:
                    more = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.inbox.put(None)
                    break
                works.append(more)
            pending = [(work, i) for work in works for i in range(len(work.inputs))]
            while pending:
                group, pending = self._next_group(pending)
                try:
                    if self.closed:  # closing: the rest fails now, not after minutes
                        group, pending = group + pending, []
                        raise RuntimeError(UNLOADED)
                    self._decode(group)
                except Exception as exc:
                    for work, _ in group:
                        work.error = work.error or exc
                        work.left -= 1
                        if work.left == 0:
                            work.done.set()

    def _next_group(self, pending: list) -> tuple[list, list]:
        """The first inputs that fit in one batch, and the rest."""
        tokens = 0
        for count, (work, index) in enumerate(pending):
            size = len(work.inputs[index])
            if count == self.parallel or (count and tokens + size > self.n_batch):
                return pending[:count], pending[count:]
            tokens += size
        return pending, []

    def _decode(self, group: list) -> None:
        if self.memory:  # causal embedding models keep a cache; each batch starts afresh
            lc.llama_memory_clear(self.memory, True)
        batch, n = self.batch, 0
        for seq, (work, index) in enumerate(group):
            for pos, token in enumerate(work.inputs[index]):
                batch.token[n] = token
                batch.pos[n] = pos
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq
                batch.logits[n] = True
                n += 1
        batch.n_tokens = n
        if (code := lc.llama_decode(self.ctx, batch)) != 0:
            raise RuntimeError(f"llama_decode failed with code {code}")
        self.steps += 1
        vectors = [self._pooled(seq) for seq in range(len(group))]
        for vector, (work, index) in zip(vectors, group, strict=True):
            work.vectors[index] = vector
            work.left -= 1
            if work.left == 0:
                work.done.set()

    def _pooled(self, seq: int) -> np.ndarray:
        """Sequence seq's pooled vector, scaled to unit length."""
        pointer = lc.llama_get_embeddings_seq(self.ctx, seq)
        if not pointer:
            raise RuntimeError("llama.cpp gave no pooled embedding")
        vector = np.ctypeslib.as_array(
            ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(self.dimensions,)
        ).astype(np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def _fail_waiting(self, error: BaseException) -> None:
        while True:
            try:
                work = self.inbox.get_nowait()
            except queue.Empty:
                return
            if work is not None:
                work.error = error
                work.done.set()
