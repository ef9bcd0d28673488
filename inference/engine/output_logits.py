"""A step's logits, read in place as one array, and the greedy picks of all its rows at once.

llama.cpp keeps the logits of the rows that asked for them one after another, in the
order of the batch. One (rows, vocabulary) view over them gives every answer its row
without a ctypes call each, and one argmax over it picks the next token of every greedy
answer: the first of the highest logits, as llama.cpp's greedy sampler picks it
(docs/decisions/engine-greedy-pick.md).
"""

from __future__ import annotations

import ctypes

import llama_cpp as lc
import numpy as np


class OutputLogits:
    """The logits of the last llama_decode on `ctx`, one row per output, in batch order."""

    def __init__(self, ctx, n_vocab: int):
        self.ctx = ctx
        self.n_vocab = n_vocab
        self._view: np.ndarray | None = None
        self._key: tuple[int, int] | None = None  # the address and row count of _view

    def rows(self, count: int) -> np.ndarray:
        """The first `count` output rows, as a (count, n_vocab) float32 view in place:
        valid until the next decode."""
        address = ctypes.cast(lc.llama_get_logits(self.ctx), ctypes.c_void_p).value
        if not address:
            raise RuntimeError("llama.cpp returned no logits")
        # The buffer moves only when llama.cpp grows it: the view is made again then.
        if self._key != (address, count):
            buffer = (ctypes.c_float * (count * self.n_vocab)).from_address(address)
            self._view = np.frombuffer(buffer, dtype=np.float32).reshape(count, self.n_vocab)
            self._key = (address, count)
        return self._view

    @staticmethod
    def greedy(rows: np.ndarray) -> list[int]:
        """Each row's first highest logit, in one call over all rows."""
        return rows.argmax(axis=1).tolist()
