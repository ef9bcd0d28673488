"""Record which worker holds the generation task of a queued answer.

With acks_late and a prefetch of one per thread, a worker receives tasks before it can
start them. Until it claims the answer, the task exists only inside that worker: if the
worker is killed then, the answer would stay queued. The record lets the reaper see that
the holder is gone and send the task again (webui/chat/stranded.py).
"""

import logging

from celery import signals

from inference.worker import resident
from webui.chat import stranded
from webui.chat.dispatch import GENERATE_TASK

log = logging.getLogger(__name__)


def _message_id(request) -> int | None:
    if request is None or request.name != GENERATE_TASK or not request.args:
        return None
    try:
        return int(request.args[0])
    except (TypeError, ValueError):
        return None


@signals.task_received.connect
def _received(sender=None, request=None, **extra) -> None:
    message_id = _message_id(request)
    if message_id is None:
        return
    try:
        stranded.record_held(message_id, resident.current().name)
    except Exception:  # never keep a task from running for want of a record
        log.exception("could not record that this worker holds answer %s", message_id)


def release(message_id: int) -> None:
    """The task ran (or found nothing to do): the answer is no longer queued because of it."""
    try:
        stranded.release_held(message_id)
    except Exception:
        log.exception("could not clear the record of answer %s", message_id)
