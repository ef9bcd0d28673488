"""Embeddings computed by a worker: the task the web sends and the reply the worker pushes.

A request reaches a worker holding that very model through the model's own queue,
`embeddings.<slug>` (LLMModel.queue_name): with several embedding models registered,
each has its queue and its workers, as each chat model has. The caller (the API, document
indexing) sends EMBED_TASK by name, since the web never imports the worker's code, with a
request id, and waits on the Redis list keys.embedding_reply(id) — no Celery result
backend is needed. The worker pushes first its name, when it takes the request, then
either the vectors or an error, and the list expires soon after.

The caller never hangs: it looks every second whether the worker that took the request
still beats, or, before one took it, whether any worker serves the model, and gives up
after `timeout` seconds; the task expires with it, so a worker that gets it later drops it.
"""

import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from asgiref.sync import sync_to_async
from django.utils import timezone

from webui.core.redis import async_client, client, keys
from webui.registry import presence

EMBED_TASK = "inference.tasks.embed"
# Seconds a caller waits for a reply: 2,048 inputs of 512 tokens take about a minute on
# two CPU cores.
DEFAULT_TIMEOUT = 180
# Seconds a reply stays in Redis after the worker pushed it, for a caller that is late.
REPLY_LIFETIME = 60
_POLL = 1.0


class EmbeddingError(Exception):
    """Why no vectors came back; `code` names the reason for the API's error body."""

    code = "embedding_failed"

    def __init__(self, message: str, *, code: str | None = None, index: int | None = None):
        super().__init__(message)
        self.code = code or self.code
        self.index = index


class EmbeddingRefused(EmbeddingError):
    """The request cannot be computed as it is: an input too long, a bad token id."""


class EmbeddingUnavailable(EmbeddingError):
    """No worker computed it: none serves the model, the one that took it stopped, or
    none answered in time."""

    code = "model_unavailable"


@dataclass(frozen=True)
class Embedded:
    vectors: np.ndarray  # float32, one unit-length row per input
    tokens: list[int]  # tokens read per input
    seconds: float  # the worker's time on the request
    worker: str


def send(
    model, inputs: list, *, dimensions: int | None = None, timeout: float = DEFAULT_TIMEOUT
) -> str:
    """Queue the inputs (strings, or lists of token ids) for a worker of `model`; return the
    request id to wait on. Raises EmbeddingUnavailable when no worker serves the model.

    `dimensions`: the size the caller asks for; the worker refuses any but its model's
    own (no model Homefire ships was trained to be cut shorter).
    """
    from webui.celery import app

    if not presence.workers_for(model.slug):
        raise EmbeddingUnavailable(f"No worker is serving '{model.slug}' right now.")
    request_id = uuid.uuid4().hex
    app.send_task(
        EMBED_TASK,
        args=[request_id, inputs],
        kwargs={"dimensions": dimensions},
        queue=model.queue_name,
        expires=timezone.now() + timedelta(seconds=timeout),
    )
    return request_id


def wait(model, request_id: str, *, timeout: float = DEFAULT_TIMEOUT) -> Embedded:
    """The worker's reply to request_id, from a thread that may block."""
    waiting = _Waiting(model.slug, timeout)
    key = keys.embedding_reply(request_id)
    try:
        while True:
            item = client().blpop([key], timeout=waiting.poll())
            if (found := waiting.take(item and item[1])) is not None:
                return found
    finally:
        client().delete(key)


async def await_reply(model, request_id: str, *, timeout: float = DEFAULT_TIMEOUT) -> Embedded:
    """The worker's reply to request_id, awaited on the caller's event loop."""
    waiting = _Waiting(model.slug, timeout)
    key = keys.embedding_reply(request_id)
    conn = async_client()
    try:
        while True:
            item = await conn.blpop([key], timeout=waiting.poll())
            if item is None:
                # The liveness look is a sync Redis read: off the event loop's thread.
                await sync_to_async(waiting.check, thread_sensitive=False)()
            elif (found := waiting.take(item[1])) is not None:
                return found
    finally:
        await conn.delete(key)
        await conn.aclose()


class _Waiting:
    """What a caller knows while it waits: who took the request, and until when to wait."""

    def __init__(self, slug: str, timeout: float):
        self.slug = slug
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.worker = ""

    def poll(self) -> float:
        return max(0.01, min(_POLL, self.deadline - time.monotonic()))

    def take(self, raw: bytes | None) -> Embedded | None:
        """Read one item of the reply (None: nothing came in the last poll)."""
        if raw is None:
            self.check()
            return None
        head, _, body = raw.partition(b"\n")
        message = json.loads(head)
        if "taken" in message:
            self.worker = message["taken"]
            return None
        if error := message.get("error"):
            cls = EmbeddingRefused if error.get("refused") else EmbeddingError
            if error.get("code") == EmbeddingUnavailable.code:
                cls = EmbeddingUnavailable
            raise cls(error["message"], code=error.get("code"), index=error.get("index"))
        vectors = np.frombuffer(body, dtype="<f4").reshape(message["count"], message["dimensions"])
        return Embedded(vectors, message["tokens"], message["seconds"], self.worker)

    def check(self) -> None:
        """Raise EmbeddingUnavailable when waiting longer is pointless."""
        if time.monotonic() >= self.deadline:
            raise EmbeddingUnavailable(
                f"No worker of '{self.slug}' answered within {self.timeout:.0f} seconds."
            )
        if self.worker and not presence.is_alive(self.worker):
            raise EmbeddingUnavailable(
                f"The worker computing these embeddings ({self.worker}) stopped. Try again."
            )
        if not self.worker and not presence.workers_for(self.slug):
            raise EmbeddingUnavailable(f"No worker is serving '{self.slug}' right now.")


# The worker's side.


def reply_taken(request_id: str, worker: str) -> None:
    _push(request_id, {"taken": worker})


def reply_vectors(request_id: str, vectors: np.ndarray, tokens: list[int], seconds: float) -> None:
    count, dimensions = vectors.shape
    head = {"count": count, "dimensions": dimensions, "tokens": tokens, "seconds": seconds}
    _push(request_id, head, vectors.astype("<f4").tobytes())


def reply_error(
    request_id: str, message: str, *, code: str, refused: bool = False, index: int | None = None
) -> None:
    error = {"message": message, "code": code, "refused": refused, "index": index}
    _push(request_id, {"error": error})


def _push(request_id: str, head: dict, body: bytes = b"") -> None:
    key = keys.embedding_reply(request_id)
    pipe = client().pipeline(transaction=False)
    pipe.rpush(key, json.dumps(head).encode() + b"\n" + body)
    pipe.expire(key, REPLY_LIFETIME)
    pipe.execute()
