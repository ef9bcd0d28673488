"""The life of an answer: the one module that writes an answer's status.

    queue ──> queued ──claim──> streaming ──finish──> done | stopped | failed
                 │  └──stop──> stopped                   │
                 └──fail──> failed       done (cut at its length) ──reopen──> queued

Every change is a guarded UPDATE (it applies only from the status it expects, so a worker,
the reaper and a user racing on one answer never undo each other), and every open view
hears of it once the change is committed. The web process, the API, the registry and the
worker all call these functions; nothing else writes Message.status.
"""

import logging

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from webui.chat import broadcast, dispatch, streambuffer
from webui.chat.models import Conversation, Message
from webui.team import usage as team_usage

log = logging.getLogger(__name__)

Status = Message.Status


def _announce(message: Message) -> None:
    """Tell every open view of the conversation that this answer changed, after commit."""
    transaction.on_commit(lambda: broadcast.message_changed(message))


def _dispatch_on_commit(answer: Message, queue: str) -> None:
    transaction.on_commit(lambda: dispatch.enqueue_generation(message_id=answer.pk, queue=queue))


def queue(*, conversation: Conversation, model, parent: Message | None, **fields) -> Message:
    """Store a queued answer after `parent` and send it to the model's workers on commit.

    `fields` are further Message fields: version_of=... for a new version of an answer,
    sampling=... for an answer with settings of its own.
    """
    answer = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Status.QUEUED,
        model=model,
        parent=parent,
        **fields,
    )
    _dispatch_on_commit(answer, model.queue_name)
    return answer


def queue_after(*, asked: list[Message], answer: Message) -> Message:
    """Store messages and, after them, a queued answer, in one INSERT; send it on commit."""
    answer.status = Status.QUEUED
    Message.objects.bulk_create([*asked, answer])
    _dispatch_on_commit(answer, answer.model.queue_name)
    return answer


def reopen(*, message: Message, model) -> bool:
    """Queue again an answer that its length limit cut, for the model to go on writing it.

    False if it is not such an answer any more (continued already by another request).
    """
    reopened = Message.objects.filter(
        pk=message.pk, status=Status.DONE, finish_reason="length"
    ).update(
        status=Status.QUEUED,
        model=model,
        finish_reason="",
        error="",
        worker="",
        started_at=None,
        finished_at=None,
        queued_at=timezone.now(),
    )
    if reopened:
        # The worker sees an answer that has text and goes on from it.
        _dispatch_on_commit(message, model.queue_name)
        _announce(message)
    return bool(reopened)


def send_again(*, message: Message) -> None:
    """Send the generation task of a still-queued answer to its model's queue again.

    For a task that was lost, or received by a worker that must not take it. Safe to
    repeat: a worker claims an answer only while it is queued.
    """
    dispatch.enqueue_generation(
        message_id=message.pk,
        queue=message.model.queue_name,
        queued_at=message.queued_at,
        again=True,
    )


def claim(*, message_id: int, worker: str, model_slug: str | None = None) -> Message | None:
    """Take a queued answer for this worker; None if it is gone, stopped or taken already,
    or (with `model_slug`) if it is for another model than the worker's.

    The views hear of it from the worker, with the answer's first text or soon after
    (inference.worker.start_notice): not here, while the model reads the prompt.
    """
    queued = Message.objects.filter(pk=message_id, status=Status.QUEUED)
    if model_slug is not None:
        queued = queued.filter(Q(model__slug=model_slug) | Q(model__isnull=True))
    claimed = queued.update(status=Status.STREAMING, worker=worker, started_at=timezone.now())
    if not claimed:
        return None
    return Message.objects.select_related("conversation", "model").get(pk=message_id)


def progress(*, message_id: int, content: str) -> None:
    """Save what has streamed so far, so a reload shows it even without Redis."""
    Message.objects.filter(pk=message_id, status=Status.STREAMING).update(content=content)


def finish(*, message: Message, content: str, status: str, error: str = "", **figures) -> bool:
    """Store the finished answer with its status and figures, count its use, tell every view;
    False when it had ended meanwhile.

    `message` is the answer as claimed: a continued answer's completion_tokens are then
    those of its earlier runs, which were counted when they finished.
    """
    now = timezone.now()
    # Only while it streams: a worker cut off from the network finishes late, after
    # housekeeping failed the answer with a reason that its views already show.
    stored = Message.objects.filter(pk=message.pk, status=Status.STREAMING).update(
        content=content, status=status, error=error, finished_at=now, **figures
    )
    if not stored:
        if Message.objects.filter(pk=message.pk).exists():
            log.warning(
                "answer %s had ended meanwhile; its worker's late end is dropped", message.pk
            )
        else:  # deleted while written: its buffer went, but the last text came after
            transaction.on_commit(lambda: streambuffer.forget_deleted([message.pk]))
        return False
    Conversation.objects.filter(pk=message.conversation_id).update(updated_at=now)
    _record_usage(message.pk, earlier_tokens=message.completion_tokens or 0)
    _announce(message)
    return True


def stop(*, message: Message) -> None:
    """Stop an answer: drop it from the queue, or ask its worker to end it now."""
    stopped = Message.objects.filter(pk=message.pk, status=Status.QUEUED).update(
        status=Status.STOPPED, finished_at=timezone.now()
    )
    if stopped:
        _announce(message)
    else:
        # Streaming, or claimed by a worker since `message` was read: the worker checks
        # this flag after every token (and a finished answer ignores it).
        streambuffer.request_stop(message.pk)


def fail_queued(answers: QuerySet, reason: str) -> list[int]:
    """End each of these answers that is still queued as failed, saying why; return ids."""
    ended = []
    for message in answers.only("id", "conversation_id"):
        updated = Message.objects.filter(pk=message.pk, status=Status.QUEUED).update(
            status=Status.FAILED, error=reason, finished_at=timezone.now()
        )
        if updated:
            log.warning("answer %s failed: %s", message.pk, reason)
            _announce(message)
            ended.append(message.pk)
    return ended


def fail_streaming(*, message: Message, content: str, reason: str) -> bool:
    """End an answer whose worker went away, keeping the text it had written."""
    updated = Message.objects.filter(pk=message.pk, status=Status.STREAMING).update(
        status=Status.FAILED, content=content, error=reason, finished_at=timezone.now()
    )
    if updated:
        _announce(message)
    return bool(updated)


def _record_usage(message_id: int, *, earlier_tokens: int = 0) -> None:
    """Count a finished run of an answer, its tokens and worker time, for its owner; never
    raises. `earlier_tokens`: what the answer had written before this run (Continue)."""
    try:
        message = (
            Message.objects.select_related("conversation__owner", "model")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.started_at is None or message.is_active:
            return
        team_usage.record_answer(
            message_id=message.pk,
            user=message.conversation.owner,
            model=message.model,
            via="api" if came_from_api(message) else "chat",
            started_at=message.started_at,
            finished_at=message.finished_at or timezone.now(),
            prompt_tokens=message.prompt_tokens or 0,
            completion_tokens=max((message.completion_tokens or 0) - earlier_tokens, 0),
        )
    except Exception:
        log.exception("usage of answer %s was not recorded", message_id)


def came_from_api(message: Message) -> bool:
    """Whether the answer was asked for through the API (stored with its settings)."""
    sampling = message.sampling
    return isinstance(sampling, dict) and sampling.get("via") == "api"
