"""Carry out the orders an admin gives a worker: assign a model, drain, resume, restart.

The control thread takes orders from the worker's Redis key (webui/registry/control.py)
between tasks. To switch models the worker stops consuming its model's queue (Celery's
cancel_consumer, sent to itself, so what is still in the queue stays there for other
workers), lets the answers it already holds finish, unloads, loads the new model with its
current settings, and consumes the new model's queue. Its heartbeat shows each step:
draining, loading, ready (or drained after a drain).
"""

import logging
import threading
import time

from celery import signals
from django.db import close_old_connections

from webui.registry import control

log = logging.getLogger(__name__)

GENERATE_TASK = "inference.tasks.generate_reply"
# Answers already held are finished first; after this long the switch goes ahead anyway.
DRAIN_TIMEOUT = 600
DRAINED = "drained"
# Orders wait until this process's Celery consumer runs: a worker that failed to load its
# model at start, and so never consumes, has no queue to drop or add.
celery_ready = threading.Event()


@signals.worker_ready.connect
def _celery_ready(**_) -> None:
    celery_ready.set()


def obey_orders(worker, interval: float | None = None) -> None:
    """Take and carry out this worker's orders until it stops."""
    from django.conf import settings

    interval = interval or settings.HOMEFIRE["WORKER_HEARTBEAT_INTERVAL"]
    while not worker._stop.is_set():
        try:
            if (
                celery_ready.is_set()
                and worker.state not in ("starting", "loading")
                and (order := control.take(worker.name))
            ):
                carry_out(worker, order)
        except Exception:
            log.exception("worker order failed")
        finally:
            close_old_connections()
        worker._stop.wait(interval)


def carry_out(worker, order: dict) -> None:
    action, slug = order.get("action"), order.get("model") or ""
    log.info("%s: order %s %s", worker.name, action, slug)
    if action == "drain":
        drain(worker)
    elif action == "resume":
        resume(worker)
    elif action == "restart":
        switch(worker, worker.model_slug)
    elif action == "assign" and slug:
        switch(worker, slug)


def drain(worker) -> None:
    """Take no new answers; finish those held; then sit idle as "drained"."""
    _stop_consuming(worker)
    worker.state = DRAINED
    worker.beat()


def resume(worker) -> None:
    if worker.state != DRAINED or worker.model is None:
        return
    _consume(worker, _queue(worker.model_slug))
    worker.state = "ready"
    worker.beat()


def switch(worker, slug: str) -> None:
    """Unload the current model and load `slug` (the same one again for a restart)."""
    from inference import resident
    from webui.registry.models import LLMModel

    record = LLMModel.objects.filter(slug=slug).first()
    if record is None:
        worker.error = f"No model {slug!r} to load."
        worker.beat()
        return
    previous = worker.model_slug
    if worker.state != DRAINED:
        _stop_consuming(worker)
    worker.state, worker.model_slug, worker.error = "loading", slug, ""
    worker.beat()
    _unload(worker)
    try:
        worker.model = resident.open_model(record, threads=worker.threads)
    except Exception as exc:
        log.exception("%s: could not load %s", worker.name, slug)
        worker.error = f"Could not load {slug}: {resident.load_failure(exc)}"
        if previous != slug:  # back to what worked
            fallback = LLMModel.objects.filter(slug=previous).first()
            try:
                worker.model_slug = previous
                worker.beat()
                worker.model = resident.open_model(fallback, threads=worker.threads)
            except Exception:
                log.exception("%s: could not load %s again", worker.name, previous)
        if worker.model is None:
            worker.state = "failed"
            worker.beat()
            return
    _consume(worker, _queue(worker.model_slug))
    worker.state = "ready"
    worker.beat()
    log.info("%s now serves %s", worker.name, worker.model_slug)


def _queue(slug: str) -> str:
    return f"model.{slug}"


def _stop_consuming(worker) -> None:
    worker.state = "draining"
    worker.beat()
    _broadcast("cancel_consumer", worker, _queue(worker.model_slug))
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while _holds_answers(worker) and time.monotonic() < deadline:
        time.sleep(0.2)


def _consume(worker, queue: str) -> None:
    _broadcast("add_consumer", worker, queue)


def _broadcast(command: str, worker, queue: str) -> None:
    """Ask this worker's own Celery consumer, through the broker, to drop or add a queue.

    Sent as a remote-control command so that it runs in the consumer's own thread.
    """
    from inference.celery_app import app

    method = getattr(app.control, command)
    replies = method(queue, destination=[worker.name], reply=True, timeout=10)
    if not replies:
        log.warning("%s: no reply to %s %s", worker.name, command, queue)


def _holds_answers(worker) -> bool:
    """Whether generation tasks are running here or received and waiting for a thread."""
    from celery.worker import state

    held = [r for r in list(state.reserved_requests) if r.name == GENERATE_TASK]
    return bool(held or worker.active)


def _unload(worker) -> None:
    model, worker.model = worker.model, None
    if model is not None and hasattr(model, "close"):
        model.close()
