"""Logprobs entries computed from a row of logits, against a plain log-softmax."""

import numpy as np
import pytest

from inference.engine.token_logprobs import entry


def _piece(token: int) -> bytes:
    return f"<{token}>".encode()


# Peaked as a model's next token usually is, spread out, and nearly flat (where the
# likeliest tokens are not found near the highest and the whole vocabulary is searched).
@pytest.mark.parametrize("scale", [4.0, 1.0, 0.05])
@pytest.mark.parametrize("top", [1, 5, 20])
def test_an_entry_holds_the_tokens_log_softmax_and_the_likeliest_in_order(scale, top):
    logits = (np.random.default_rng(7).standard_normal(49152) * scale).astype(np.float32)
    exact = logits.astype(np.float64)
    exact = exact - (exact.max() + np.log(np.exp(exact - exact.max()).sum()))
    made = entry(logits, 123, top, _piece)
    assert made["token"] == "<123>" and made["bytes"] == list(b"<123>")
    assert made["logprob"] == pytest.approx(exact[123], abs=1e-6)
    likeliest = np.argsort(-exact, kind="stable")[:top]
    assert [alt["token"] for alt in made["top_logprobs"]] == [f"<{t}>" for t in likeliest]
    assert [alt["logprob"] for alt in made["top_logprobs"]] == pytest.approx(
        exact[likeliest], abs=1e-6
    )


def test_equal_logits_list_the_lower_id_first_as_the_greedy_pick_takes_it():
    logits = np.zeros(1000, dtype=np.float32)
    logits[[700, 300, 500]] = 5.0
    made = entry(logits, 300, 3, _piece)
    assert [alt["token"] for alt in made["top_logprobs"]] == ["<300>", "<500>", "<700>"]


def test_no_alternatives_asked_gives_an_empty_list():
    logits = np.arange(10, dtype=np.float32)
    made = entry(logits, 9, 0, _piece)
    assert made["top_logprobs"] == [] and made["logprob"] < 0


def test_a_token_that_is_part_of_a_character_shows_its_bytes_exactly():
    made = entry(np.zeros(4, dtype=np.float32), 1, 0, lambda token: "é".encode()[:1])
    assert made["bytes"] == [0xC3] and made["token"] == "\ufffd"
