"""The reaper: ends or sends again every answer left behind by a worker or by Redis.

Run on a schedule by the housekeeping process (webui.chat.tasks), never from a page.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from webui.chat import answers, stranded, streambuffer
from webui.chat.models import Message
from webui.registry.presence import beat_of, redis_uptime

log = logging.getLogger(__name__)

GONE = "The worker stopped while writing this answer. Send the message again."
LET_GO = (
    "The worker could not store this answer's end (the database was out of its reach). "
    "Send the message again."
)


def reap_orphans() -> list[int]:
    """End every answer left behind; return the ids of those ended as failed.

    Streaming answers whose worker stopped sending heartbeats, or let them go, fail.
    Queued answers whose model's workers all failed to load it, or that waited past their
    task's lifetime, fail with the reason; those whose task was lost with a worker or with
    Redis's data are sent again (see stranded.py).
    """
    timeout = settings.HOMEFIRE["WORKER_HEARTBEAT_TIMEOUT"]
    if redis_uptime() < timeout:
        # Redis just restarted: live workers have not all beaten again yet.
        return []
    now = timezone.now()
    ended = stranded.fail_expired(now) + stranded.fail_unloadable()
    stranded.requeue_lost(now)
    return _fail_abandoned_streams(now - timedelta(seconds=timeout), timeout) + ended


def _fail_abandoned_streams(cutoff, timeout: float) -> list[int]:
    suspects = Message.objects.filter(status=Message.Status.STREAMING, started_at__lt=cutoff)
    reaped = []
    for message in suspects.only("id", "conversation_id", "worker", "content", "started_at"):
        beat = beat_of(message.worker)
        reason = GONE
        if beat is not None:
            # A live worker lists every answer it is writing in each beat (from before its
            # claim). One missing from a beat sent after the claim was let go: its worker
            # could not store its end (its database away longer than it retries).
            if message.pk in beat.active_messages or beat.seen <= message.started_at.timestamp():
                continue
            reason = LET_GO
        # Redis's age read after the missing heartbeat: Redis may have restarted since
        # the check above (the queries between take a while on a busy database), and then
        # the heartbeat is missing because Redis lost it, not because the worker stopped.
        # A worker that stays up beats again well within `timeout`.
        if redis_uptime() < timeout:
            break
        partial = streambuffer.read(message.pk).decode(errors="replace") or message.content
        if answers.fail_streaming(message=message, content=partial, reason=reason):
            log.warning("answer %s failed: %s (worker %s)", message.pk, reason, message.worker)
            reaped.append(message.pk)
    return reaped
