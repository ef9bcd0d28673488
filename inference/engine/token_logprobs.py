"""Log-probabilities of the tokens an answer picks, in OpenAI's shape.

Read from the model's own distribution at that step (the log-softmax of the raw logits),
before any bias, penalty, grammar or temperature changed it: what the model thought of
each token, whichever way the answer picked it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# Alternatives are looked for among the tokens whose logit is within the first of these of
# the highest that holds as many as asked: a partial sort of the whole vocabulary costs
# most of a millisecond, and a step's likeliest tokens are few.
MARGINS = (2.0, 5.0, 10.0)


def entry(logits: np.ndarray, token: int, top: int, piece: Callable[[int], bytes]) -> dict:
    """The logprobs entry of `token`, with the `top` likeliest tokens of this step.

    `logits`: one row of the model's output, one float per token of the vocabulary;
    `piece`: a token's bytes.
    """
    highest = float(logits.max())
    log_total = highest + math.log(float(np.exp(logits - highest).sum(dtype=np.float64)))
    alternatives = []
    if top > 0:
        best = _likeliest(logits, highest, top)
        # Highest first; among equal logits the lower id first, as the greedy pick takes it.
        best = best[np.lexsort((best, -logits[best]))][:top]
        alternatives = [_token(int(t), float(logits[t]) - log_total, piece) for t in best]
    return {
        **_token(token, float(logits[token]) - log_total, piece),
        "top_logprobs": alternatives,
    }


def _likeliest(logits: np.ndarray, highest: float, top: int) -> np.ndarray:
    """Ids that include the `top` highest logits (and maybe a few more), in no order."""
    for margin in MARGINS:
        near = np.flatnonzero(logits >= highest - margin)
        if len(near) > 4 * top:
            return near[np.argpartition(logits[near], -top)[-top:]]
        if len(near) >= top:
            return near
    return np.argpartition(logits, -top)[-top:]


def _token(token: int, logprob: float, piece: Callable[[int], bytes]) -> dict:
    data = piece(token)
    # A token may hold part of a character: its text shows what it holds, its bytes are exact.
    return {"token": data.decode(errors="replace"), "logprob": logprob, "bytes": list(data)}
