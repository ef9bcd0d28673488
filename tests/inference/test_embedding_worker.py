"""The embeddings task in this process, with the real model and Redis: what it pushes to
the caller's reply list, and what the caller makes of it."""

import types
import uuid

import numpy as np
import pytest

from inference.engine.embedding import EmbeddingModel
from inference.worker import embedding as task_module
from inference.worker import resident
from inference.worker.state import WorkerState
from webui.registry import embeddings
from webui.registry.bert_gguf import convert_bert
from webui.registry.bundled import EMBEDDING_NAME, bundled_embedding_source

MODEL = types.SimpleNamespace(slug="minilm-here")


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory):
    target = tmp_path_factory.mktemp("task") / "minilm.gguf"
    return str(convert_bert(bundled_embedding_source(), target, name=EMBEDDING_NAME))


@pytest.fixture
def worker(gguf_file, monkeypatch):
    model = EmbeddingModel(gguf_file, n_ctx=512, n_threads=2, parallel=8)
    here = resident.Resident(
        name=f"minilm-here@test:{uuid.uuid4().hex[:6]}",
        model_slug=MODEL.slug,
        device="CPU",
        model=model,
        state=WorkerState.READY,
    )
    monkeypatch.setattr(resident, "_current", here)
    monkeypatch.setattr(here, "queued", lambda: 0)
    yield here
    model.close()


def _run(*args, **kwargs) -> str:
    request_id = uuid.uuid4().hex
    task_module.embed.run(request_id, *args, **kwargs)
    return request_id


def test_the_reply_holds_the_models_vectors_and_token_counts(worker):
    texts = ["The invoice is due on Friday.", "Payment is expected by the end of the week."]
    request_id = _run(texts)
    reply = embeddings.wait(MODEL, request_id, timeout=10)
    direct = worker.model.embed([worker.model.tokenize(t) for t in texts])
    assert reply.worker == worker.name
    assert reply.tokens == [len(worker.model.tokenize(t)) for t in texts]
    assert (reply.vectors * direct).sum(1).min() > 0.9999
    assert worker.tokens_per_second() > 0


def test_refusals_name_the_input(worker):
    with pytest.raises(embeddings.EmbeddingRefused) as caught:
        embeddings.wait(MODEL, _run(["short", "long " * 700]), timeout=10)
    assert (caught.value.code, caught.value.index) == ("context_length_exceeded", 1)
    with pytest.raises(embeddings.EmbeddingRefused) as caught:
        embeddings.wait(MODEL, _run(["x"], dimensions=256), timeout=10)
    assert caught.value.code == "invalid_dimensions"


def test_a_worker_without_its_embedding_model_says_it_is_unavailable(worker):
    worker.model.close()
    with pytest.raises(embeddings.EmbeddingUnavailable, match="unloaded its model"):
        embeddings.wait(MODEL, _run(["x"]), timeout=10)
    worker.model = None
    with pytest.raises(embeddings.EmbeddingUnavailable, match="holds no embedding model"):
        embeddings.wait(MODEL, _run(["x"]), timeout=10)


def test_a_reply_is_read_back_as_it_was_pushed():
    request_id = uuid.uuid4().hex
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    embeddings.reply_taken(request_id, "w@h:1")
    embeddings.reply_vectors(request_id, vectors, [4, 5], 0.25)
    reply = embeddings.wait(MODEL, request_id, timeout=5)
    assert (reply.worker, reply.tokens, reply.seconds) == ("w@h:1", [4, 5], 0.25)
    assert np.array_equal(reply.vectors, vectors)


def test_nobody_serving_the_model_is_unavailable_at_once(db):
    with pytest.raises(embeddings.EmbeddingUnavailable, match="No worker is serving"):
        embeddings.wait(types.SimpleNamespace(slug="nobody-serves-this"), "x", timeout=30)
