"""Passages to vectors through the team's embedding model (webui.registry.embeddings).

The model is the enabled embedding-role model (the default one, if an admin enabled
several). Vectors are float32, little-endian, unit length, stored in Passage.vector with
the model that made them; a search compares only vectors of the current model.
"""

import numpy as np

from webui.registry import embeddings
from webui.registry.models import LLMModel

# Passages sent in one request: as many as the model's worker reads together
# (LLMModel.parallel), within these bounds.
MAX_BATCH = 64
# Characters of a passage sent to the model; a passage the model still finds too long is
# cut in half until it fits (its vector then stands for its beginning).
INPUT_CHARS = 1500
HALVINGS = 6


def current_model() -> LLMModel | None:
    """The embedding model documents are indexed with now, or None (full-text only)."""
    enabled = LLMModel.objects.filter(role=LLMModel.Role.EMBEDDING, enabled=True)
    return enabled.order_by("-is_default", "name", "pk").first()


def batch_size(model: LLMModel) -> int:
    return max(1, min(MAX_BATCH, model.parallel or 1))


def embed(model: LLMModel, texts: list[str]) -> np.ndarray:
    """One unit-length float32 row per text; raises embeddings.EmbeddingError."""
    inputs = [text[:INPUT_CHARS] for text in texts]
    for _ in range(HALVINGS):
        try:
            request_id = embeddings.send(model, inputs)
            return embeddings.wait(model, request_id).vectors
        except embeddings.EmbeddingRefused as exc:
            if exc.index is None or exc.code != "context_length_exceeded":
                raise
            # The worker names the first input too long: cut it, and all as long as it.
            longest = len(inputs[exc.index])
            inputs = [text[: longest // 2] if len(text) >= longest else text for text in inputs]
    raise embeddings.EmbeddingRefused("A passage stays too long for the embedding model.")


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4")
