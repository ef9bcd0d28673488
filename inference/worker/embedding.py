"""The embeddings task, run by a worker that holds a model of role "embedding".

The request comes by its model's queue (`embeddings.<slug>`) and the vectors go back on a
Redis list the caller waits on (webui.registry.embeddings): no result backend, no
database write. Tokens read are counted in the worker's tokens per second.
"""

import logging
import time

from inference.worker import resident
from webui.celery import app
from webui.registry import embeddings

log = logging.getLogger(__name__)

# Threads taking embeddings tasks: each waits while the model's one decoder thread
# computes; more of them let more requests share its batches.
CONCURRENCY = 8


@app.task(name=embeddings.EMBED_TASK)
def embed(request_id: str, inputs: list, dimensions: int | None = None) -> None:
    """Compute one vector per input (a string, or a list of the model's token ids) and
    push them, or why not, to the caller's reply list. `dimensions`, when given, must be
    the model's own size."""
    # Here, not at the top: the web process imports the worker's tasks too (to send them by
    # name), and must not load llama.cpp (tests/inference/test_worker_state.py).
    from inference.engine.embedding import BadTokenId, EmbeddingModel, InputTooLong

    worker = resident.current()
    model = worker.model
    if not worker.takes_answers() or not isinstance(model, EmbeddingModel):
        embeddings.reply_error(
            request_id,
            f"The worker {worker.name} holds no embedding model right now. Try again.",
            code="model_unavailable",
        )
        return
    embeddings.reply_taken(request_id, worker.name)
    if dimensions is not None and dimensions != model.dimensions:
        embeddings.reply_error(
            request_id,
            f"This model's vectors have {model.dimensions} dimensions and it was not trained "
            f"to be shortened: 'dimensions' may only be {model.dimensions}.",
            code="invalid_dimensions",
            refused=True,
        )
        return
    started = time.monotonic()
    try:
        tokens = [model.tokenize(item) if isinstance(item, str) else item for item in inputs]
        vectors = model.embed(tokens)
    except (InputTooLong, BadTokenId) as exc:
        code = "context_length_exceeded" if isinstance(exc, InputTooLong) else "invalid_token"
        embeddings.reply_error(request_id, str(exc), code=code, refused=True, index=exc.index)
        return
    except Exception as exc:
        if model.closed:  # unloaded meanwhile: an admin's switch or restart
            embeddings.reply_error(
                request_id,
                f"The worker {worker.name} unloaded its model while computing. Try again.",
                code="model_unavailable",
            )
            return
        log.exception("embeddings request %s failed", request_id)
        embeddings.reply_error(request_id, f"The model failed: {exc}", code="embedding_failed")
        return
    counts = [len(t) for t in tokens]
    embeddings.reply_vectors(request_id, vectors, counts, round(time.monotonic() - started, 4))
    worker.count_tokens(sum(counts))
