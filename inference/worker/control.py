"""Carry out the orders an admin gives a worker: assign a model, drain, resume, restart.

The control thread takes orders from the worker's Redis key (webui/registry/control.py)
between tasks. To switch models the worker stops consuming its model's queue (Celery's
cancel_consumer, sent to itself, so what is still in the queue stays there for other
workers), lets the answers it already holds finish, unloads, loads the new model with its
current settings, and consumes the new model's queue. Its heartbeat shows each step:
draining, loading, ready (or drained after a drain). Every change of state goes through
the worker's methods, along the moves of inference.worker.state.
"""

import logging
import threading
import time

from celery import signals
from django.db import close_old_connections

from inference.worker import resident
from inference.worker.state import WorkerState
from webui.chat.dispatch import GENERATE_TASK
from webui.registry import control

log = logging.getLogger(__name__)

# Answers already held are finished first; after this long the switch goes ahead anyway.
DRAIN_TIMEOUT = 600
# Orders wait until this process's Celery consumer runs: a worker that failed to load its
# model at start, and so never consumes, has no queue to drop or add.
celery_ready = threading.Event()
# A worker in these states is busy changing: orders wait until it is done.
_CHANGING = {WorkerState.STARTING, WorkerState.LOADING}


@signals.worker_ready.connect
def _celery_ready(**_) -> None:
    celery_ready.set()


def start(worker: resident.Resident) -> None:
    """Take this worker's orders from a thread of its own until it stops."""
    threading.Thread(target=obey_orders, args=(worker,), name="control", daemon=True).start()


def obey_orders(worker: resident.Resident, interval: float | None = None) -> None:
    """Take and carry out this worker's orders until it stops."""
    from django.conf import settings

    interval = interval or settings.HOMEFIRE["WORKER_HEARTBEAT_INTERVAL"]
    while not worker.stopping.is_set():
        try:
            if (
                celery_ready.is_set()
                and worker.state not in _CHANGING
                and (order := control.take(worker.name))
            ):
                carry_out(worker, order)
        except Exception:
            log.exception("worker order failed")
        finally:
            close_old_connections()
        worker.stopping.wait(interval)


def carry_out(worker: resident.Resident, order: dict) -> None:
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


def drain(worker: resident.Resident) -> None:
    """Take no new answers; finish those held; then sit idle as "drained"."""
    _stop_consuming(worker)
    worker.move_to(WorkerState.DRAINED)


def resume(worker: resident.Resident) -> None:
    if worker.state is not WorkerState.DRAINED or worker.model is None:
        return
    _consume(worker, _queue(worker.model_slug))
    worker.move_to(WorkerState.READY)


def switch(worker: resident.Resident, slug: str) -> None:
    """Unload the current model and load `slug` (the same one again for a restart)."""
    from webui.registry.models import LLMModel

    record = LLMModel.objects.filter(slug=slug).first()
    if record is None:
        worker.report(f"No model {slug!r} to load.")
        return
    previous = worker.model_slug
    if worker.state is not WorkerState.DRAINED:
        _stop_consuming(worker)
    worker.begin_loading(slug)
    worker.unload()
    try:
        worker.hold(resident.open_for(worker, record))
    except Exception as exc:
        log.exception("%s: could not load %s", worker.name, slug)
        error = f"Could not load {slug}: {resident.load_failure(exc)}"
        if previous != slug:  # back to what worked
            fallback = LLMModel.objects.filter(slug=previous).first()
            try:
                worker.fall_back(previous, error)
                worker.hold(resident.open_for(worker, fallback))
            except Exception:
                log.exception("%s: could not load %s again", worker.name, previous)
        if worker.model is None:
            worker.move_to(WorkerState.FAILED, error=error)
            return
    _consume(worker, _queue(worker.model_slug))
    worker.move_to(WorkerState.READY)
    log.info("%s now serves %s", worker.name, worker.model_slug)


def _queue(slug: str) -> str:
    """The queue of the model registered as slug: chat and embedding models have their own
    kinds (LLMModel.queue_name)."""
    from webui.registry.models import LLMModel

    record = LLMModel.objects.filter(slug=slug).first()
    return record.queue_name if record else f"model.{slug}"


def _stop_consuming(worker: resident.Resident) -> None:
    if worker.state is not WorkerState.DRAINING:  # an order that failed midway left it so
        worker.move_to(WorkerState.DRAINING)
    _broadcast("cancel_consumer", worker, _queue(worker.model_slug))
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while _holds_answers(worker) and time.monotonic() < deadline:
        time.sleep(0.2)


def _consume(worker: resident.Resident, queue: str) -> None:
    _broadcast("add_consumer", worker, queue)


def _broadcast(command: str, worker: resident.Resident, queue: str) -> None:
    """Ask this worker's own Celery consumer, through the broker, to drop or add a queue.

    Sent as a remote-control command so that it runs in the consumer's own thread.
    """
    from webui.celery import app

    method = getattr(app.control, command)
    replies = method(queue, destination=[worker.name], reply=True, timeout=10)
    if not replies:
        log.warning("%s: no reply to %s %s", worker.name, command, queue)


def _holds_answers(worker: resident.Resident) -> bool:
    """Whether generation tasks are running here or received and waiting for a thread."""
    from celery.worker import state

    held = [r for r in list(state.reserved_requests) if r.name == GENERATE_TASK]
    return bool(held or worker.active)
