"""The model this worker process keeps loaded, and the heartbeat that announces it."""

import logging
import os
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections

from inference.engine import TextModel
from webui.registry import presence

log = logging.getLogger(__name__)


@dataclass
class Resident:
    name: str
    model_slug: str
    device: str
    model: TextModel | None = None
    state: str = "starting"
    active: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def beat(self) -> None:
        presence.beat(
            presence.WorkerBeat(
                name=self.name,
                host=socket.gethostname(),
                model=self.model_slug,
                state=("busy" if self.active else "ready") if self.state == "ready" else self.state,
                device=self.device,
                active_messages=sorted(self.active),
                seen=presence.now(),
            )
        )

    @contextmanager
    def serving(self, message_id: int):
        """Count an answer as in progress, for the heartbeat, while the block runs."""
        with self._lock:
            self.active.add(message_id)
        self.beat()
        try:
            yield
        finally:
            with self._lock:
                self.active.discard(message_id)
            self.beat()

    def start_heartbeat(self) -> None:
        threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True).start()

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

        interval = settings.HOMEFIRE["WORKER_HEARTBEAT_INTERVAL"]
        while not self._stop.is_set():
            try:
                self.beat()
                reap_orphans()
            except Exception:
                log.exception("heartbeat failed; trying again")
            finally:
                close_old_connections()
            self._stop.wait(interval)


_current: Resident | None = None


def current() -> Resident:
    if _current is None:
        raise RuntimeError("This process holds no model: start it with `manage.py worker`.")
    return _current


def load(slug: str, *, threads: int = 0, gpu: int | None = None) -> Resident:
    """Load the model registered as `slug` and keep it for the life of the process."""
    from inference.engine import LlamaModel
    from webui.registry.models import LLMModel

    global _current
    record = LLMModel.objects.get(slug=slug)
    device = "CPU" if record.gpu_layers == 0 else f"GPU {gpu if gpu is not None else 0}"
    name = f"{slug}@{socket.gethostname()}:{os.getpid()}"
    _current = Resident(name=name, model_slug=slug, device=device, state="loading")
    _current.start_heartbeat()
    log.info("loading %s from %s", record.name, record.path)
    _current.model = LlamaModel(
        record.path,
        n_ctx=record.context_size,
        n_gpu_layers=record.gpu_layers,
        n_threads=threads,
        parallel=record.parallel,
    )
    _current.state = "ready"
    _current.beat()
    log.info("%s is resident; serving queue %s as %s", record.name, record.queue_name, name)
    return _current
