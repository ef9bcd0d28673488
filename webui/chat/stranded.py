"""Queued answers whose generation task is gone: send it again, or end the answer.

A queued answer's task waits in its model's queue in Redis, or is held by a worker that
received it and has not claimed the answer yet (the worker records this on receipt, see
inference/worker/holding.py). The task is lost when the worker holding it dies without
acknowledging it (SIGKILL, out of memory: with acks_late and a long visibility timeout
the broker would hand it back only hours later), or when Redis restarts without its
data. Sending it again is safe: a worker claims an answer only while it is queued, so a
second copy of a task finds nothing to do and is acknowledged.
"""

import logging
from datetime import timedelta

from django.conf import settings

from webui.chat import answers, dispatch
from webui.chat.models import Message
from webui.core import wire
from webui.core.redis import client, keys
from webui.registry import presence

log = logging.getLogger(__name__)


def held_key(message_id: int) -> str:
    return keys.held(message_id)


def record_held(message_id: int, worker: str) -> None:
    """Note that `worker` received the task of this answer (called by the worker)."""
    lifetime = int(dispatch.QUEUE_LIFETIME.total_seconds())
    client().set(held_key(message_id), worker, ex=lifetime)


def release_held(message_id: int) -> None:
    client().delete(held_key(message_id))


def queued_message_ids(queue: str) -> set[int]:
    """The answers whose generation task waits in this Celery queue in Redis."""
    conn = client()
    ids: set[int] = set()
    for name in wire.queue_lists(queue):
        for raw in conn.lrange(name, 0, -1):
            message_id = _message_id_of(raw)
            if message_id is not None:
                ids.add(message_id)
    return ids


def _message_id_of(raw: bytes) -> int | None:
    call = wire.task_call(raw)
    if call is None or call[0] != dispatch.GENERATE_TASK:
        return None
    try:
        return int(call[1][0])
    except (IndexError, TypeError, ValueError):
        return None


def fail_expired(now) -> list[int]:
    """End answers that waited longer than their task's lifetime: no worker will take them."""
    expired = Message.objects.filter(
        status=Message.Status.QUEUED, queued_at__lt=now - dispatch.QUEUE_LIFETIME
    )
    hours = int(dispatch.QUEUE_LIFETIME.total_seconds() // 3600)
    reason = f"No worker took this answer within {hours} hours. Send the message again."
    return answers.fail_queued(expired, reason)


def fail_unloadable() -> list[int]:
    """End queued answers of a model whose every live worker failed to load it."""
    beats: dict[str, list[presence.WorkerBeat]] = {}
    for beat in presence.live_workers():
        beats.setdefault(beat.model, []).append(beat)
    failed = []
    for slug, mine in beats.items():
        if not all(beat.state == presence.FAILED for beat in mine):
            continue
        error = next((beat.error for beat in mine if beat.error), "no reason given")
        waiting = Message.objects.filter(status=Message.Status.QUEUED, model__slug=slug)
        failed += answers.fail_queued(waiting, f"The model could not be loaded: {error}")
    return failed


def requeue_lost(now) -> list[int]:
    """Send again the task of each queued answer that no queue and no live worker holds."""
    timeout = settings.HOMEFIRE["WORKER_HEARTBEAT_TIMEOUT"]
    cutoff = now - timedelta(seconds=timeout)
    suspects = list(
        Message.objects.filter(
            status=Message.Status.QUEUED, queued_at__lt=cutoff, model__isnull=False
        ).select_related("model")
    )
    if not suspects:
        return []
    conn = client()
    waiting: dict[str, set[int]] = {}
    sent = []
    for message in suspects:
        queue = message.model.queue_name
        if queue not in waiting:
            waiting[queue] = queued_message_ids(queue)
        if message.pk in waiting[queue]:
            continue
        holder = conn.get(held_key(message.pk))
        if holder and presence.is_alive(holder.decode()):
            continue
        # Still queued? A worker may have claimed it since it was read.
        if not Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).exists():
            continue
        # Another reaper (a second housekeeping) that read the queue at the same moment
        # finds it lost too: the first to mark it sends it. The mark outlives the time
        # the copy takes to reach the queue and lapses before it could be lost again.
        if not conn.set(keys.resent(message.pk), holder or b"", nx=True, ex=timeout):
            continue
        conn.delete(held_key(message.pk))
        answers.send_again(message=message)
        waiting[queue].add(message.pk)
        log.warning(
            "answer %s: its task was lost (%s); sent it again",
            message.pk,
            f"held by {holder.decode()}, gone" if holder else "not in the queue",
        )
        sent.append(message.pk)
    return sent
