"""The embedding engine on the bundled all-MiniLM-L6-v2, converted to GGUF as an install does.

Its vectors are checked against a forward pass written here in numpy from the package's
own fp32 weights (BERT as sentence-transformers runs it: mean pooling, unit length), and
its tokens against the package's WordPiece vocabulary.
"""

import json
import math
import threading
import time

import numpy as np
import pytest

from inference.engine.embedding import (
    BadTokenId,
    EmbeddingModel,
    InputTooLong,
    NotAnEmbeddingModel,
)
from webui.registry.bert_gguf import _safetensors, convert_bert
from webui.registry.bundled import EMBEDDING_NAME, bundled_embedding_source
from webui.registry.paths import bundled_model_path

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "Héllo wörld, unaffable CAFÉ!",
]


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory):
    target = tmp_path_factory.mktemp("embedding") / "minilm.gguf"
    return convert_bert(bundled_embedding_source(), target, name=EMBEDDING_NAME)


@pytest.fixture(scope="module")
def model(gguf_file):
    loaded = EmbeddingModel(str(gguf_file), n_ctx=512, n_threads=2, parallel=16)
    yield loaded
    loaded.close()


def _reference(token_ids: list[int]) -> np.ndarray:
    """all-MiniLM-L6-v2's sentence vector, computed in numpy from the safetensors file."""
    source = bundled_embedding_source()
    config = json.loads((source / "config.json").read_text())
    w = {
        name: np.asarray(array, dtype=np.float64)
        for name, array in _safetensors(source / "model.safetensors")
    }
    eps, heads = config["layer_norm_eps"], config["num_attention_heads"]

    def norm(x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]

    def dense(x, prefix):
        return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]

    erf = np.vectorize(math.erf)
    n = len(token_ids)
    x = (
        w["embeddings.word_embeddings.weight"][token_ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = norm(x, "embeddings.LayerNorm")
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}"
        q, k, v = (dense(x, f"{p}.attention.self.{m}") for m in ("query", "key", "value"))
        size = q.shape[1] // heads
        split = [(t.reshape(n, heads, size).transpose(1, 0, 2)) for t in (q, k, v)]
        scores = split[0] @ split[1].transpose(0, 2, 1) / math.sqrt(size)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        attended = (scores @ split[2]).transpose(1, 0, 2).reshape(n, -1)
        x = norm(
            x + dense(attended, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm"
        )
        hidden = dense(x, f"{p}.intermediate.dense")
        hidden = 0.5 * hidden * (1 + erf(hidden / math.sqrt(2)))
        x = norm(x + dense(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_tokens_are_the_packages_wordpiece_ids(model):
    vocab = (bundled_embedding_source() / "vocab.txt").read_text().splitlines()
    tokens = model.tokenize("Hello world, unaffable!")
    assert [vocab[t] for t in tokens] == [
        "[CLS]", "hello", "world", ",", "una", "##ffa", "##ble", "!", "[SEP]",
    ]  # fmt: skip


def test_vectors_match_a_numpy_forward_pass_of_the_original_weights(model):
    tokens = [model.tokenize(text) for text in SENTENCES]
    vectors = model.embed(tokens)
    for row, ids in zip(vectors, tokens, strict=True):
        assert float(row @ _reference(ids)) >= 0.999


def test_vectors_are_unit_length_and_mean_pooled(model):
    vectors = model.embed([model.tokenize(text) for text in SENTENCES])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (model.pooling, model.dimensions) == ("mean", 384)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(model):
    food, bread, movie, _ = model.embed([model.tokenize(text) for text in SENTENCES])
    assert food @ bread > 0.6 > 0.1 > food @ movie


def test_inputs_batched_together_give_the_vectors_they_give_alone(model):
    texts = [f"Item {i}: the meeting moved to room {i % 7} on floor {i % 3}." for i in range(40)]
    tokens = [model.tokenize(text) for text in texts]
    before = model.steps
    together = model.embed(tokens)
    batched_steps = model.steps - before
    alone = np.stack([model.embed([t])[0] for t in tokens[:5]])
    assert batched_steps == 3  # 40 inputs, 16 to a batch
    assert (together[:5] * alone).sum(1).min() > 0.9999


def test_callers_in_several_threads_each_get_their_own_vectors(model):
    texts = [f"Thread {i} asks about invoice number {1000 + i}." for i in range(8)]
    expected = model.embed([model.tokenize(t) for t in texts])
    results: dict[int, np.ndarray] = {}

    def call(index):
        results[index] = model.embed([model.tokenize(texts[index])])[0]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # The same vectors, up to the rounding of a batch of another size.
    assert (np.stack([results[i] for i in range(8)]) * expected).sum(1).min() > 0.9999


def test_an_input_longer_than_the_context_is_refused_by_its_index(model):
    long = model.tokenize("word " * 600)
    with pytest.raises(InputTooLong) as caught:
        model.embed([[101, 102], long])
    assert (caught.value.index, caught.value.tokens, caught.value.n_ctx) == (1, len(long), 512)
    assert "Input 1 is" in str(caught.value)


def test_a_token_id_outside_the_vocabulary_is_refused(model):
    with pytest.raises(BadTokenId, match="Input 0 has the token id 30522"):
        model.embed([[101, 30522, 102]])


def test_a_chat_model_is_not_an_embedding_model():
    with pytest.raises(NotAnEmbeddingModel, match="not an embedding model"):
        EmbeddingModel(bundled_model_path(), n_ctx=512, n_threads=2)


def test_a_closed_model_refuses_work(gguf_file):
    loaded = EmbeddingModel(str(gguf_file), n_ctx=256, n_threads=1, parallel=2)
    loaded.close()
    with pytest.raises(RuntimeError, match="unloaded"):
        loaded.embed([[101, 102]])


def test_closing_mid_request_fails_the_caller_at_once(gguf_file):
    loaded = EmbeddingModel(str(gguf_file), n_ctx=512, n_threads=2, parallel=4)
    inputs = [loaded.tokenize(f"Sentence number {i} about the weather.") for i in range(2000)]
    outcome: list = []

    def call():
        try:
            loaded.embed(inputs)
        except RuntimeError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while loaded.steps == 0:
        time.sleep(0.01)
    loaded.close()
    caller.join(10)
    assert not caller.is_alive()
    assert "unloaded" in str(outcome[0])
    assert loaded.steps < 2000 // 4
