"""The model this worker process keeps loaded, and what is known about it.

Threads live elsewhere: the heartbeat (inference.worker.heartbeat) and the admin's orders
(inference.worker.control) take the Resident as an argument and change its state through
its methods, along the moves of inference.worker.state.
"""

import logging
import os
import socket
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass

from inference.engine.contract import TextModel
from inference.worker import devices
from inference.worker.fit import ModelDoesNotFit, check_fits
from inference.worker.state import StateError, StateMachine, WorkerState
from webui.registry import presence

log = logging.getLogger(__name__)


@dataclass
class Served:
    """What a task did with the answer it was given (see Resident.serving)."""

    generated: bool = True


class Resident:
    """One worker process: its model, its state, and the figures its heartbeat reports."""

    def __init__(
        self,
        *,
        name: str,
        model_slug: str,
        device: str,
        model: TextModel | None = None,
        state: WorkerState | str = WorkerState.STARTING,
        gpu: int | None = None,
        threads: int = 0,
        memory_total: int | None = None,
        memory_free: int | None = None,
    ):
        self.name = name
        self.model_slug = model_slug
        self.device = device
        self.model = model
        self.gpu = gpu  # --gpu, for the device's memory figures
        self.threads = threads
        self.memory_total = memory_total
        self.memory_free = memory_free
        self.error = ""  # why it cannot serve (state "failed"), or why an order failed
        self.progress = ""  # how far the fetch of its model's file is, while it lasts
        self.active: set[int] = set()
        self._queued = 0  # answers of its model waiting, as last read (see queued)
        # (time, tokens) of answers that ended, for tokens per second over the last minute.
        self.finished: deque = deque()
        self.machine = StateMachine(state)
        # Set when the process stops: the threads that serve this worker end.
        self.stopping = threading.Event()
        # Set to ask the heartbeat's announce thread for a beat soon (see announce).
        self.announced = threading.Event()
        self._lock = threading.Lock()
        # One beat at a time, each read and written whole, so that a beat read by one
        # thread is never written after a newer one from another.
        self._beating = threading.Lock()

    def __repr__(self) -> str:
        return f"<Resident {self.name} {self.state} {self.model_slug}>"

    @property
    def state(self) -> WorkerState:
        return self.machine.state

    def takes_answers(self) -> bool:
        """Whether a generation task it receives is its to run (else back to the queue)."""
        return self.machine.takes_answers()

    def move_to(self, state: WorkerState, *, error: str | None = None) -> None:
        """Change state along an allowed move (StateError otherwise), and say so at once.

        `error`: why, when it failed; left as it was when None.
        """
        self.machine.move(state)
        if error is not None:
            self.error = error
        self.beat()

    def begin_loading(self, slug: str) -> None:
        """Go on to load the model registered as `slug` (a switch, or a restart)."""
        self.machine.move(WorkerState.LOADING)
        self.model_slug, self.error = slug, ""
        self.beat()

    def fall_back(self, slug: str, error: str) -> None:
        """While loading: give up the model that failed, saying why, and load `slug`."""
        if self.state is not WorkerState.LOADING:
            raise StateError(f"a worker falls back only while loading, not {self.state}")
        self.model_slug, self.error = slug, error
        self.beat()

    def report(self, error: str) -> None:
        """Show why an order could not be carried out, in the same state."""
        self.error = error
        self.beat()

    def fetching(self, done: int, total: int) -> None:
        """Show how far the model file's fetch from the server is."""
        percent = done * 100 // max(total, 1)
        self.progress = f"fetching the model file: {percent}% of {total:,} bytes"
        self.beat()

    def hold(self, model: TextModel) -> None:
        self.model = model

    def unload(self) -> None:
        """Free the model's memory now."""
        model, self.model = self.model, None
        if model is not None and hasattr(model, "close"):
            model.close()

    def beat(self) -> None:
        with self._beating:
            self._beat()

    def _beat(self) -> None:
        # The time before the answers: every answer claimed before `seen` is in the list
        # (housekeeping ends one missing from a beat seen after its claim, webui.chat.reaper).
        seen = presence.now()
        with self._lock:
            active = sorted(self.active)
        presence.beat(
            presence.WorkerBeat(
                name=self.name,
                host=socket.gethostname(),
                model=self.model_slug,
                state=self.machine.shown(answering=bool(active)),
                device=self.device,
                active_messages=active,
                seen=seen,
                error=self.error,
                memory_total=self.memory_total,
                memory_free=self.memory_free,
                queued=self.queued(),
                tokens_per_second=self.tokens_per_second(),
                progress=self.progress,
                **self.kv_tokens(),
            )
        )

    def kv_tokens(self) -> dict:
        """The model's KV cache figures for the beat; none for a model without them."""
        figures = getattr(self.model, "kv_tokens", None)  # no model, or an embedding model
        if figures is None:
            return {}
        used, kept, total = figures()
        return {"kv_tokens_used": used, "kv_tokens_kept": kept, "kv_tokens_total": total}

    def queued(self) -> int:
        """Answers of this worker's model waiting for a worker; while the database is out
        of reach, the last count: the beat goes on, since it says the worker is alive, and
        a worker that looked dead would have the answers it is writing failed."""
        from django.db import DatabaseError, close_old_connections

        from webui.chat import selectors

        try:
            self._queued = selectors.queued_count(self.model_slug)
        except DatabaseError as exc:
            log.warning("heartbeat: the queue's length not read (%s); beating on", exc)
            close_old_connections()  # the broken connection goes; the next beat opens one
        return self._queued

    def tokens_per_second(self, window: float = 60.0) -> float:
        """Tokens written by the answers that ended in the last `window` seconds, per second."""
        cutoff = time.monotonic() - window
        with self._lock:
            while self.finished and self.finished[0][0] < cutoff:
                self.finished.popleft()
            return round(sum(tokens for _, tokens in self.finished) / window, 2)

    def count_tokens(self, tokens: int) -> None:
        """Count tokens this worker read or wrote outside an answer (embeddings)."""
        with self._lock:
            self.finished.append((time.monotonic(), tokens))

    def _record_tokens(self, message_id: int) -> None:
        from webui.chat import selectors

        if tokens := selectors.completion_tokens(message_id):
            with self._lock:
                self.finished.append((time.monotonic(), tokens))

    def refresh_device(self) -> None:
        device = devices.refresh(
            devices.Device(self.device, self.memory_total, self.memory_free), self.gpu
        )
        self.memory_total, self.memory_free = device.memory_total, device.memory_free

    @contextmanager
    def serving(self, message_id: int):
        """Count an answer as in progress, for the heartbeat, while the block runs (the
        block announces it once the answer has started: see inference.worker.start_notice).

        The block sets `generated` to False on what it yields when it had nothing to do.
        A second copy of the answer's task (handed out again by the broker, see
        inference/worker/tasks.py) may run beside the first in this process: it neither
        ends the first's count, which keeps the model from being unloaded under it, nor
        counts the answer's tokens again.
        """
        with self._lock:
            copy = message_id in self.active
            self.active.add(message_id)
        served = Served()
        try:
            yield served
        finally:
            if not copy:
                with self._lock:
                    self.active.discard(message_id)
            try:
                if served.generated and not copy:
                    self._record_tokens(message_id)
            finally:
                self.beat()

    def announce(self) -> None:
        """Beat soon, from the heartbeat's announce thread, not the caller's."""
        self.announced.set()

    def shutdown(self) -> None:
        """Stop announcing this worker and free its model."""
        self.stopping.set()
        presence.forget(self.name)
        self.unload()


class ModelLoadFailed(RuntimeError):
    """The worker could not load its model; the text says why."""


def load_failure(exc: Exception) -> str:
    """Why loading failed, in words for an admin."""
    if isinstance(exc, ModelDoesNotFit):
        return f"too big for this machine: {exc}"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"llama.cpp refused it ({detail[:300]})"


_current: Resident | None = None


def current() -> Resident:
    if _current is None:
        raise RuntimeError("This process holds no model: start it with `manage.py worker`.")
    return _current


def open_model(record, *, threads: int = 0, path: str | None = None) -> TextModel:
    """Load a registered model with every setting an admin chose for it (from `path`, this
    host's copy of its file, when that is not the registry's)."""
    path = path or record.path
    if record.role == "embedding":
        from inference.engine.embedding import EmbeddingModel

        return EmbeddingModel(
            path,
            n_ctx=record.context_size,
            n_gpu_layers=record.gpu_layers,
            n_threads=threads,
            parallel=record.parallel,  # inputs read together in one batch
        )
    from inference.engine.llama import LlamaModel

    return LlamaModel(
        path,
        n_ctx=record.context_size,
        n_gpu_layers=record.gpu_layers,
        n_threads=threads,
        parallel=record.parallel,
        kv_cache_type=record.kv_cache_type,
        flash_attention=record.flash_attention,
        chat_template=record.chat_template,
        kv_cache_tokens=record.kv_cache_tokens,
    )


def arrive(slug: str, *, threads: int = 0, gpu: int | None = None) -> Resident:
    """This process's worker for the model registered as `slug`, about to load it."""
    from webui.registry.models import LLMModel

    global _current
    record = LLMModel.objects.get(slug=slug)
    found = devices.describe(gpu=gpu, gpu_layers=record.gpu_layers)
    _current = Resident(
        name=f"{slug}@{socket.gethostname()}:{os.getpid()}",
        model_slug=slug,
        device=found.name,
        gpu=gpu,
        threads=threads,
        memory_total=found.memory_total,
        memory_free=found.memory_free,
    )
    _current.move_to(WorkerState.LOADING)
    return _current


def load(worker: Resident) -> None:
    """Load the worker's model and keep it for the life of the process."""
    from webui.registry.models import LLMModel

    record = LLMModel.objects.get(slug=worker.model_slug)
    log.info("loading %s from %s", record.name, record.path)
    try:
        check_fits(record, device=worker.device)
        worker.hold(open_for(worker, record))
    except Exception as exc:
        # Stay visible as "failed" with the reason: its queued answers end with it.
        worker.move_to(WorkerState.FAILED, error=load_failure(exc))
        raise ModelLoadFailed(worker.error) from exc
    worker.move_to(WorkerState.READY)
    log.info("%s is resident; serving queue %s as %s", record.name, record.queue_name, worker.name)


def open_for(worker: Resident, record) -> TextModel:
    """Load `record` for this worker, from this host's copy of its file."""
    return open_model(record, threads=worker.threads, path=str(_model_file(record, worker).path))


def _model_file(record, worker: Resident):
    """This host's copy of the model's file, fetched from the server when it lacks one."""
    from django.conf import settings

    from inference.worker import model_fetch

    found = model_fetch.model_file(
        record,
        server_url=settings.HOMEFIRE["SERVER_URL"],
        token=settings.HOMEFIRE["WORKER_TOKEN"],
        models_dir=settings.HOMEFIRE["MODELS_DIR"],
        ca=settings.HOMEFIRE["SERVER_CA"],
        progress=worker.fetching,
    )
    if found.fetched_bytes:
        log.info("fetched %s bytes of %s into %s", found.fetched_bytes, record.slug, found.path)
    worker.progress = ""
    return found
