"""Celery tasks run by a worker that holds a model (found by the Celery app's autodiscovery)."""

import logging

from django.db import close_old_connections

from inference.engine.contract import Arrival
from inference.worker import (
    embedding,  # noqa: F401  (registers the embeddings task)
    generation,
    holding,
    resident,
    titles,  # noqa: F401  (registers the title task)
)
from webui.celery import app
from webui.chat import answers, selectors

log = logging.getLogger(__name__)


# The name is the one queued messages and the web process send (webui.chat.dispatch).
@app.task(name="inference.tasks.generate_reply")
def generate_reply(message_id: int, arrival: Arrival = (0, 0)) -> str | None:
    """`arrival`: the question's place in the group that arrived with it, how many of that
    group were stored behind it and the group's id (see webui.chat.arrival_order); tasks
    queued by older web processes carry no id."""
    worker = resident.current()
    try:
        if not worker.takes_answers() and _hand_back(worker, message_id):
            return None
        with worker.serving(message_id) as served:
            # Claims only an answer of this worker's model: the usual case costs no
            # query before the claim, and the rest is sorted out below.
            status = generation.generate_reply(
                message_id,
                model=worker.model,
                worker_name=worker.name,
                model_slug=worker.model_slug,
                arrival=tuple(arrival),
                started=worker.announce,
            )
            served.generated = status is not None
        if status is None and not _hand_back(worker, message_id):
            _nothing_to_do(message_id)
        return status
    finally:
        holding.release(message_id)
        close_old_connections()


def _nothing_to_do(message_id: int) -> None:
    """The answer was not queued any more: stopped, deleted, or claimed by an earlier copy.

    The broker hands a task out again when it was not acknowledged within the visibility
    timeout (HOMEFIRE_BROKER_VISIBILITY_TIMEOUT), e.g. while a long answer still runs:
    the copy is acknowledged here without generating anything.
    """
    if (generate_reply.request.delivery_info or {}).get("redelivered"):
        log.warning(
            "answer %s: its task was handed out again (past the broker's visibility "
            "timeout); the answer was already taken, so this copy does nothing",
            message_id,
        )


def _hand_back(worker: resident.Resident, message_id: int) -> bool:
    """Send the task back to its queue if this worker must not take it; say whether it did.

    Cancelling a worker's consumer (drain, or a switch to another model) takes effect a
    moment after the order: a task received meanwhile goes back to the queue for a worker
    that serves that model now, instead of being generated here, or with the wrong model.
    """
    answer = selectors.queued_answer(message_id)
    if answer is None or answer.model is None:
        return False  # nothing to take: the usual path acknowledges it
    if worker.takes_answers() and answer.model.slug == worker.model_slug:
        return False
    log.info(
        "answer %s: handed back to model.%s (this worker is %s, serving %s)",
        message_id,
        answer.model.slug,
        worker.state,
        worker.model_slug,
    )
    answers.send_again(message=answer)
    return True
