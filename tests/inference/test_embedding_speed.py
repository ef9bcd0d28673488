"""Embeddings per second, the engine beside plain llama-cpp-python on the same file.

Prints the figures (run with -s to see them); asserts what the engine is for: many inputs
read together go faster per input than one at a time, and faster than Llama.embed, which
reads one sequence per decode.
"""

import time

import pytest
from llama_cpp import Llama

from inference.engine.embedding import EmbeddingModel
from webui.registry.bert_gguf import convert_bert
from webui.registry.bundled import EMBEDDING_NAME, bundled_embedding_source

# About 50 tokens each, every one different.
TEXTS = [
    f"Note {i}: the quarterly report says revenue grew in every region, while costs in "
    f"office {i} rose faster than planned because of new hires, rent and travel. The "
    "board will review the plan again at its next meeting, early in the spring."
    for i in range(32)
]


def _rate(embed, texts, seconds: float = 3.0) -> float:
    embed(texts)  # warm
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        embed(texts)
        done += len(texts)
    return done / (time.perf_counter() - started)


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory):
    target = tmp_path_factory.mktemp("speed") / "minilm.gguf"
    return str(convert_bert(bundled_embedding_source(), target, name=EMBEDDING_NAME))


def test_batched_inputs_beat_one_at_a_time_and_plain_llama(gguf_file):
    engine = EmbeddingModel(gguf_file, n_ctx=512, n_threads=2, parallel=32)
    try:
        tokens = [engine.tokenize(text) for text in TEXTS]
        assert 45 <= sum(map(len, tokens)) / len(tokens) <= 55
        ours = {n: _rate(lambda xs: engine.embed(xs), tokens[:n]) for n in (1, 32)}
    finally:
        engine.close()
    plain = Llama(gguf_file, embedding=True, n_ctx=512, n_threads=2, verbose=False)
    try:
        theirs = {n: _rate(lambda xs: plain.embed(xs, normalize=True), TEXTS[:n]) for n in (1, 32)}
    finally:
        plain.close()
    for n in (1, 32):
        print(f"\n{n:>2} inputs: engine {ours[n]:6.1f}/s, Llama.embed {theirs[n]:6.1f}/s")
    assert ours[32] > 1.3 * ours[1]
    assert ours[32] > 1.3 * theirs[32]
