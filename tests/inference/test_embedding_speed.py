"""What the embedding engine is for, counted in decodes rather than timed: many inputs
read together share forward passes (a timed ratio here flaked on a loaded machine; speed
is the benchmarks' job), and packing them changes no vector beyond rounding."""

import math

import numpy as np
import pytest

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


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory):
    target = tmp_path_factory.mktemp("speed") / "minilm.gguf"
    return str(convert_bert(bundled_embedding_source(), target, name=EMBEDDING_NAME))


def test_inputs_read_together_share_decodes_and_give_the_same_vectors(gguf_file):
    engine = EmbeddingModel(gguf_file, n_ctx=512, n_threads=2, parallel=32)
    try:
        tokens = [engine.tokenize(text) for text in TEXTS]
        assert 45 <= sum(map(len, tokens)) / len(tokens) <= 55
        alone = np.stack([engine.embed([t])[0] for t in tokens])
        assert engine.steps == len(tokens)
        before = engine.steps
        together = engine.embed(tokens)
        decodes = engine.steps - before
    finally:
        engine.close()
    # As many inputs per decode as the batch holds: 32 of ~50 tokens in 512-token batches.
    assert decodes <= math.ceil(sum(map(len, tokens)) / engine.n_batch) + 1, decodes
    # Packed or alone, the same vector up to float rounding (cosine ≥ 0.9999).
    assert (np.sum(together * alone, axis=1) >= 0.9999).all()
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
