"""Reciprocal rank fusion: ranks, not scores, decide; k = 60."""

import pytest

from webui.documents.fusion import K, reciprocal_rank_fusion


def test_one_ranking_keeps_its_order_with_scores_of_one_over_k_plus_rank():
    fused = reciprocal_rank_fusion(["a", "b", "c"])
    assert [item for item, _ in fused] == ["a", "b", "c"]
    assert [score for _, score in fused] == pytest.approx([1 / 61, 1 / 62, 1 / 63])
    assert K == 60


def test_an_item_both_rankings_place_fairly_high_beats_one_placed_first_by_one():
    fused = reciprocal_rank_fusion(["solo", "x", "both"], ["y", "both", "z"])
    assert fused[0] == ("both", pytest.approx(1 / 63 + 1 / 62))
    assert [item for item, _ in fused][1:3] == ["solo", "y"]


def test_an_item_repeated_within_one_ranking_counts_once_at_its_best_rank():
    fused = dict(reciprocal_rank_fusion(["a", "b", "a", "a"]))
    assert fused == {"a": pytest.approx(1 / 61), "b": pytest.approx(1 / 62)}


def test_ties_keep_the_order_items_first_appeared_in():
    fused = reciprocal_rank_fusion(["p", "q"], ["q", "p"], ["r"])
    assert [item for item, _ in fused] == ["p", "q", "r"]
    assert fused[0][1] == fused[1][1]


def test_k_damps_the_first_ranks():
    fused = dict(reciprocal_rank_fusion(["a", "b"], k=0))
    assert fused == {"a": 1.0, "b": 0.5}


def test_no_rankings_or_empty_ones_give_nothing():
    assert reciprocal_rank_fusion() == []
    assert reciprocal_rank_fusion([], []) == []


def test_weights_scale_each_rankings_share():
    fused = reciprocal_rank_fusion(["a", "b"], ["b", "a"], weights=[0.5, 1.0])
    assert fused == [
        ("b", pytest.approx(0.5 / 62 + 1 / 61)),
        ("a", pytest.approx(0.5 / 61 + 1 / 62)),
    ]
    with pytest.raises(ValueError, match="one weight per ranking"):
        reciprocal_rank_fusion(["a"], weights=[1.0, 2.0])
