"""A model's token pieces (each token's bytes) and end-of-generation tokens, looked up once.

llama_token_to_piece and llama_vocab_is_eog are ctypes calls: a few microseconds a token,
paid by every answer at every step. A token's bytes never change, so each is asked of
llama.cpp the first time it is met and kept; a whole vocabulary is a few MB at most.
"""

from __future__ import annotations

import ctypes

import llama_cpp as lc


class PieceTable:
    """Token id → bytes (control tokens' bytes empty, or their names with `special`), and
    whether a token ends generation."""

    def __init__(self, vocab, n_vocab: int):
        self.vocab = vocab
        self._plain: list[bytes | None] = [None] * n_vocab
        self._special: list[bytes | None] = [None] * n_vocab
        self._eog: list[bool | None] = [None] * n_vocab
        self._buffer = ctypes.create_string_buffer(256)

    def piece(self, token: int) -> bytes:
        """A token's bytes; a control token's (end of turn) are empty."""
        data = self._plain[token]
        if data is None:
            data = self._plain[token] = self._ask(token, special=False)
        return data

    def named(self, token: int) -> bytes:
        """A token's bytes, with control tokens' names (as logprobs show them)."""
        data = self._special[token]
        if data is None:
            data = self._special[token] = self._ask(token, special=True)
        return data

    def is_eog(self, token: int) -> bool:
        """Whether the token ends generation (end of text, end of turn)."""
        eog = self._eog[token]
        if eog is None:
            eog = self._eog[token] = bool(lc.llama_vocab_is_eog(self.vocab, token))
        return eog

    def _ask(self, token: int, *, special: bool) -> bytes:
        buf = self._buffer
        size = lc.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
        if size < 0:
            buf = ctypes.create_string_buffer(-size)
            size = lc.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
        return buf.raw[:size]
