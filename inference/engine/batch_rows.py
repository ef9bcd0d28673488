"""The rows of one decoding step, as llama.cpp's `llama_batch` reads them, kept in numpy.

llama_batch_init allocates the batch's arrays in C, and filling them from Python costs five
ctypes assignments per token (and a pointer per sequence id). Here the arrays are numpy's
and the batch points at them, so a step's rows go in with one slice assignment per field,
whatever their number: the per-token Python the engine pays at every step is a few list
appends (docs/decisions/engine-step-arrays.md).
"""

from __future__ import annotations

import ctypes

import llama_cpp as lc
import numpy as np

_SEQ_ID_P = ctypes.POINTER(lc.llama_seq_id)


class BatchRows:
    """A llama_batch of up to `capacity` tokens, each in one sequence, over numpy arrays.

    The arrays belong to this object, not to llama.cpp: never pass `batch` to
    llama_batch_free. Rows are written with `fill` (a whole step) or `add` (a run of one
    sequence's tokens), and `batch.n_tokens` says how many llama_decode reads.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.token = np.zeros(capacity, dtype=np.int32)
        self.pos = np.zeros(capacity, dtype=np.int32)
        self.n_seq_id = np.ones(capacity, dtype=np.int32)  # one sequence per row, always
        self.seq_id = np.zeros(capacity, dtype=np.int32)
        self.logits = np.zeros(capacity, dtype=np.int8)
        # llama_batch.seq_id is an array of pointers, one per row: each points at its row
        # of seq_id, so that writing seq_id writes them all.
        base, size = self.seq_id.ctypes.data, self.seq_id.itemsize
        self._seq_rows = (_SEQ_ID_P * capacity)(
            *(ctypes.cast(base + row * size, _SEQ_ID_P) for row in range(capacity))
        )
        self.batch = lc.llama_batch(
            n_tokens=0,
            token=self.token.ctypes.data_as(ctypes.POINTER(lc.llama_token)),
            embd=None,
            pos=self.pos.ctypes.data_as(ctypes.POINTER(lc.llama_pos)),
            n_seq_id=self.n_seq_id.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
            seq_id=ctypes.cast(self._seq_rows, ctypes.POINTER(_SEQ_ID_P)),
            logits=self.logits.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)),
        )

    @property
    def n_tokens(self) -> int:
        return self.batch.n_tokens

    def fill(self, tokens: list[int], pos: list[int], seqs: list[int], logits: list[int]) -> None:
        """Make the batch these rows: the i-th token, at position pos[i] of sequence
        seqs[i], with its logits computed where logits[i] is true."""
        n = len(tokens)
        if n > self.capacity:
            raise ValueError(f"{n} tokens in a batch of {self.capacity}")
        self.token[:n] = tokens
        self.pos[:n] = pos
        self.seq_id[:n] = seqs
        self.logits[:n] = logits
        self.batch.n_tokens = n

    def add(self, n: int, seq: int, start: int, tokens: list[int], *, logits_last: bool) -> int:
        """Write `tokens` of sequence `seq` from position `start` at row `n`; return the
        next free row (the batch's n_tokens is left to the caller)."""
        end = n + len(tokens)
        if end > self.capacity:
            raise ValueError(f"{end} tokens in a batch of {self.capacity}")
        self.token[n:end] = tokens
        self.pos[n:end] = np.arange(start, start + len(tokens), dtype=np.int32)
        self.seq_id[n:end] = seq
        self.logits[n:end] = 0
        if logits_last and end > n:
            self.logits[end - 1] = 1
        return end
