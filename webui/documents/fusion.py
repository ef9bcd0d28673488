"""Reciprocal rank fusion: one ranking out of several, by rank alone.

Full-text scores (bm25, ts_rank) and cosine similarities are not on one scale, so they
are not added; each list gives an item 1 / (k + rank) and the sums decide. k = 60 is the
constant of Cormack, Clarke and Büttcher (SIGIR 2009), which damps the weight of the
very first ranks so that an item both lists place fairly high beats one only one list
places first.
"""

from collections.abc import Hashable, Iterable

K = 60


def reciprocal_rank_fusion(
    *rankings: Iterable[Hashable], k: int = K, weights: Iterable[float] | None = None
) -> list[tuple[Hashable, float]]:
    """Fuse rankings (best first) into (item, score) pairs, best first.

    An item repeated within one ranking counts at its best rank only. Ties keep the order
    in which the items first appeared, reading the rankings in the order given. `weights`
    (one per ranking, default 1) scale each ranking's 1 / (k + rank).
    """
    scores: dict[Hashable, float] = {}
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    for ranking, weight in zip(rankings, weights, strict=True):
        seen = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    # sorted() is stable and dicts keep insertion order: ties stay in first-seen order.
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)
