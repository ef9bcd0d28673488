"""One answer's llama.cpp samplers, built from its `Sampling`.

The chain, in llama.cpp's server's order: the logit biases, then the penalties, then
either the random samplers or greedy. A grammar stands beside it and has the last word: a
bias cannot force a token the grammar forbids.
"""

from __future__ import annotations

import ctypes
import math

import llama_cpp as lc
import numpy as np

from inference.engine.contract import Sampling

# How many of the answer's latest tokens its penalties count. Only the answer's own tokens
# are counted, not the prompt's, as OpenAI counts them ("tokens sampled so far").
PENALTY_LAST_N = 64


class SamplingRefused(ValueError):
    """The answer's sampling settings cannot be used with this model; the text says why."""


def needs_chain(sampling: Sampling) -> bool:
    """Whether the answer needs llama.cpp's samplers: at temperature 0, one without logit
    biases, penalties or a grammar takes the highest logit in place (see OutputLogits.greedy)."""
    return (
        sampling.temperature > 0
        or bool(sampling.logit_bias or sampling.grammar)
        or _penalized(sampling)
    )


def build(sampling: Sampling, vocab, n_vocab: int) -> AnswerSampler | None:
    """The answer's samplers, or None when it needs none; raises SamplingRefused for a
    grammar that does not parse or a logit bias on a token the vocabulary does not have."""
    if not needs_chain(sampling):
        return None
    sampler = AnswerSampler(n_vocab)
    try:
        for made in _samplers(sampling, n_vocab):
            lc.llama_sampler_chain_add(sampler.chain, made)  # the chain frees what it holds
        if sampling.grammar:
            sampler.grammar = lc.llama_sampler_init_grammar(
                vocab, sampling.grammar.encode(), b"root"
            )
            if not sampler.grammar:  # llama.cpp returns NULL (and logs why)
                raise SamplingRefused(
                    "its grammar does not parse (GBNF with a rule named root is expected)"
                )
    except Exception:
        sampler.free()
        raise
    return sampler


class AnswerSampler:
    """A chain of llama.cpp samplers, and the answer's grammar beside it.

    The grammar checks the token the chain picked, and only when it refuses that token is
    it applied to the whole vocabulary and the chain asked again, as llama.cpp's own
    server does: checking every token of the vocabulary costs milliseconds a step
    (docs/decisions/engine-sampling-features.md), one token microseconds.
    """

    def __init__(self, n_vocab: int):
        self.n_vocab = n_vocab
        self.chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        self.grammar = None
        self._candidates = None  # every token's (id, logit, p), made at the first grammar pick
        self._one = lc.llama_token_data()
        self._one_array = lc.llama_token_data_array(ctypes.pointer(self._one), 1, -1, False)

    def sample(self, ctx, index: int) -> int:
        """Pick, and take, the next token from the logits of batch row `index`."""
        if self.grammar is None:
            return lc.llama_sampler_sample(self.chain, ctx, index)
        logits = np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, index), shape=(self.n_vocab,))
        token = self._pick(logits)
        if not self._allowed(token):
            token = self._pick(logits, grammar_first=True)
            if not self._allowed(token):  # taking it would abort the process (llama.cpp)
                raise SamplingRefused("its grammar allows no token at this point")
        lc.llama_sampler_accept(self.grammar, token)
        lc.llama_sampler_accept(self.chain, token)
        return token

    def free(self) -> None:
        lc.llama_sampler_free(self.chain)
        if self.grammar:
            lc.llama_sampler_free(self.grammar)
        self.grammar = None

    def _pick(self, logits: np.ndarray, *, grammar_first: bool = False) -> int:
        if self._candidates is None:
            self._candidates = np.zeros(self.n_vocab, dtype=_TOKEN_DATA)
            self._ids = np.arange(self.n_vocab, dtype=np.int32)
            self._array = lc.llama_token_data_array(
                self._candidates.ctypes.data_as(lc.llama_token_data_p), self.n_vocab, -1, False
            )
        # The samplers sort and cut the array in place: fill it again each time.
        self._candidates["id"] = self._ids
        self._candidates["logit"] = logits
        self._candidates["p"] = 0
        array = self._array
        array.data = self._candidates.ctypes.data_as(lc.llama_token_data_p)
        array.size, array.selected, array.sorted = self.n_vocab, -1, False
        if grammar_first:
            lc.llama_sampler_apply(self.grammar, ctypes.byref(array))
        lc.llama_sampler_apply(self.chain, ctypes.byref(array))
        return array.data[array.selected].id

    def _allowed(self, token: int) -> bool:
        self._one.id, self._one.logit, self._one.p = token, 0.0, 0.0
        self._one_array.size, self._one_array.selected, self._one_array.sorted = 1, -1, False
        lc.llama_sampler_apply(self.grammar, ctypes.byref(self._one_array))
        return self._one.logit != -math.inf


# llama_token_data, as numpy sees it: a whole vocabulary filled in a few vector copies.
_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


def _penalized(sampling: Sampling) -> bool:
    return (
        sampling.frequency_penalty != 0
        or sampling.presence_penalty != 0
        or sampling.repeat_penalty != 1
    )


def _samplers(sampling: Sampling, n_vocab: int):
    """Yield the chain's samplers in order, each made only once it is asked for, so that
    one that cannot be made leaves nothing unowned behind."""
    if sampling.logit_bias:
        yield _logit_bias(sampling.logit_bias, n_vocab)
    if _penalized(sampling):
        yield lc.llama_sampler_init_penalties(
            n_vocab,
            PENALTY_LAST_N,
            sampling.repeat_penalty,
            sampling.frequency_penalty,
            sampling.presence_penalty,
        )
    if sampling.temperature <= 0:
        yield lc.llama_sampler_init_greedy()
        return
    seed = lc.LLAMA_DEFAULT_SEED if sampling.seed is None else sampling.seed
    yield lc.llama_sampler_init_top_k(40)
    yield lc.llama_sampler_init_top_p(sampling.top_p, 1)
    yield lc.llama_sampler_init_min_p(0.05, 1)
    yield lc.llama_sampler_init_temp(sampling.temperature)
    yield lc.llama_sampler_init_dist(seed)


def _logit_bias(biases: dict[int, float], n_vocab: int):
    outside = sorted(token for token in biases if not 0 <= int(token) < n_vocab)
    if outside:
        raise SamplingRefused(
            f"logit_bias names token {outside[0]}, and this model's tokens are 0 to {n_vocab - 1}"
        )
    entries = (lc.llama_logit_bias * len(biases))(
        *(lc.llama_logit_bias(int(token), float(bias)) for token, bias in biases.items())
    )
    # llama.cpp copies the entries: the array need not outlive this call.
    return lc.llama_sampler_init_logit_bias(n_vocab, len(biases), entries)
