"""The model this worker process keeps loaded, and the heartbeat that announces it."""

import logging
import os
import socket
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections

from inference import devices
from inference.engine import TextModel
from inference.fit import ModelDoesNotFit, check_fits
from webui.registry import presence

log = logging.getLogger(__name__)

# How long after an answer starts its worker beats (see Resident._announce_loop).
ANNOUNCE_DELAY_SECONDS = 0.1


@dataclass
class Served:
    """What a task did with the answer it was given (see Resident.serving)."""

    generated: bool = True


@dataclass
class Resident:
    name: str
    model_slug: str
    device: str
    model: TextModel | None = None
    state: str = "starting"
    error: str = ""  # why the model could not be loaded (state "failed")
    active: set[int] = field(default_factory=set)
    gpu: int | None = None  # --gpu, for the device's memory figures
    threads: int = 0
    memory_total: int | None = None
    memory_free: int | None = None
    # (time, tokens) of answers that ended, for tokens per second over the last minute.
    finished: deque = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _announce: threading.Event = field(default_factory=threading.Event, repr=False)
    # One beat at a time, each read and written whole: a beat read as "loading" by the
    # heartbeat thread was once written after the main thread's "failed" one.
    _beating: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def beat(self) -> None:
        with self._beating:
            self._beat()

    def _beat(self) -> None:
        presence.beat(
            presence.WorkerBeat(
                name=self.name,
                host=socket.gethostname(),
                model=self.model_slug,
                state=("busy" if self.active else "ready") if self.state == "ready" else self.state,
                device=self.device,
                active_messages=sorted(self.active),
                seen=presence.now(),
                error=self.error,
                memory_total=self.memory_total,
                memory_free=self.memory_free,
                queued=self.queued(),
                tokens_per_second=self.tokens_per_second(),
            )
        )

    def queued(self) -> int:
        """Answers of this worker's model waiting for a worker."""
        from webui.chat.models import Message

        return Message.objects.filter(
            status=Message.Status.QUEUED, model__slug=self.model_slug
        ).count()

    def tokens_per_second(self, window: float = 60.0) -> float:
        """Tokens written by the answers that ended in the last `window` seconds, per second."""
        cutoff = time.monotonic() - window
        with self._lock:
            while self.finished and self.finished[0][0] < cutoff:
                self.finished.popleft()
            return round(sum(tokens for _, tokens in self.finished) / window, 2)

    def _record_tokens(self, message_id: int) -> None:
        from webui.chat.models import Message

        tokens = (
            Message.objects.filter(pk=message_id)
            .values_list("completion_tokens", flat=True)
            .first()
        )
        if tokens:
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
        block announces it once the answer has started: see inference.start_notice).

        The block sets `generated` to False on what it yields when it had nothing to do.
        A second copy of the answer's task (handed out again by the broker, see
        inference/tasks.py) may run beside the first in this process: it neither ends
        the first's count, which keeps the model from being unloaded under it, nor
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
        """Beat soon, from a thread of its own (see _announce_loop), not the caller's."""
        self._announce.set()

    def start_heartbeat(self) -> None:
        from inference import worker_control

        threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True).start()
        threading.Thread(target=self._announce_loop, name="announce", daemon=True).start()
        threading.Thread(
            target=worker_control.obey_orders, args=(self,), name="control", daemon=True
        ).start()

    def shutdown(self) -> None:
        """Stop announcing this worker and free its model."""
        self._stop.set()
        presence.forget(self.name)
        if self.model is not None and hasattr(self.model, "close"):
            self.model.close()
            self.model = None

    def _heartbeat_loop(self) -> None:
        # Imported here: services pull in the channel layer, which the worker sets up late.
        from webui.chat.services import reap_orphans
        from webui.team.retention import purge_when_due

        interval = settings.HOMEFIRE["WORKER_HEARTBEAT_INTERVAL"]

        def purge():
            if purged := purge_when_due():
                log.info("retention: deleted %s old conversations", purged)

        # Each duty on its own: one that fails (and logs why) does not hold up the others.
        duties = [self.refresh_device, self.beat, reap_orphans, purge]
        while not self._stop.is_set():
            for duty in duties:
                try:
                    duty()
                except Exception:
                    log.exception("heartbeat: %s failed; trying again", duty.__name__)
            close_old_connections()
            self._stop.wait(interval)

    def _announce_loop(self) -> None:
        """Beat soon after an answer starts writing: admin and the health check see the
        worker busy within a moment, while the beat's query neither holds up the answer's
        first token nor competes with its claim. Answers that start together share one beat."""
        while not self._stop.is_set():
            if not self._announce.wait(timeout=1.0):
                continue
            time.sleep(ANNOUNCE_DELAY_SECONDS)
            self._announce.clear()
            try:
                self.beat()
            except Exception:
                log.exception("heartbeat: announcing a new answer failed")
            close_old_connections()


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


def open_model(record, *, threads: int = 0) -> TextModel:
    """Load a registered model with every setting an admin chose for it."""
    from inference.engine import LlamaModel

    return LlamaModel(
        record.path,
        n_ctx=record.context_size,
        n_gpu_layers=record.gpu_layers,
        n_threads=threads,
        parallel=record.parallel,
        kv_cache_type=record.kv_cache_type,
        flash_attention=record.flash_attention,
        chat_template=record.chat_template,
    )


def load(slug: str, *, threads: int = 0, gpu: int | None = None) -> Resident:
    """Load the model registered as `slug` and keep it for the life of the process."""
    from webui.registry.models import LLMModel

    global _current
    record = LLMModel.objects.get(slug=slug)
    found = devices.describe(gpu=gpu, gpu_layers=record.gpu_layers)
    device = found.name
    name = f"{slug}@{socket.gethostname()}:{os.getpid()}"
    _current = Resident(
        name=name,
        model_slug=slug,
        device=device,
        state="loading",
        gpu=gpu,
        threads=threads,
        memory_total=found.memory_total,
        memory_free=found.memory_free,
    )
    _current.start_heartbeat()
    log.info("loading %s from %s", record.name, record.path)
    try:
        check_fits(record, device=device)
        _current.model = open_model(record, threads=threads)
    except Exception as exc:
        # Stay visible as "failed" with the reason: its queued answers end with it.
        _current.state, _current.error = presence.FAILED, load_failure(exc)
        _current.beat()
        raise ModelLoadFailed(_current.error) from exc
    _current.state = "ready"
    _current.beat()
    log.info("%s is resident; serving queue %s as %s", record.name, record.queue_name, name)
    return _current
