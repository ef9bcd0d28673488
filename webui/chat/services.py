"""Writes: starting and arranging conversations, sending, stopping and finishing messages."""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webui.chat import broadcast, dispatch, stranded, streambuffer, versions
from webui.chat.models import Conversation, Message
from webui.registry.models import LLMModel
from webui.registry.presence import is_alive, redis_uptime
from webui.team import gate as team_gate
from webui.team import usage as team_usage

log = logging.getLogger(__name__)

TITLE_LENGTH = 60


class MessageRejected(ValueError):
    """The message cannot be sent; the text says why, in words for the user."""


def title_from(content: str) -> str:
    line = " ".join(content.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def _clean_content(content: str) -> str:
    content = (content or "").strip()
    if not content:
        raise MessageRejected("Type a message first.")
    limit = settings.HOMEFIRE["MAX_MESSAGE_CHARS"]
    if len(content) > limit:
        raise MessageRejected(
            f"This message is {len(content):,} characters long; the limit is {limit:,}."
        )
    return content


def _usable_model(model: LLMModel | None) -> LLMModel:
    if model is None or not model.enabled:
        model = LLMModel.objects.filter(enabled=True).order_by("-is_default", "name").first()
    if model is None:
        raise MessageRejected("No model is available. Ask an admin to enable one.")
    return model


@transaction.atomic
def conversation_start(*, owner, content: str, model: LLMModel | None = None) -> Conversation:
    """Create a conversation titled after its first message, and send that message."""
    content = _clean_content(content)
    conversation = Conversation.objects.create(
        owner=owner, title=title_from(content), model=_usable_model(model)
    )
    message_send(conversation=conversation, content=content)
    return conversation


@transaction.atomic
def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    """Give a conversation a new title (one line, at most 200 characters)."""
    title = " ".join((title or "").split())
    if not title:
        raise MessageRejected("Give the conversation a title.")
    if len(title) > 200:
        raise MessageRejected(f"This title is {len(title)} characters long; the limit is 200.")
    conversation.title = title
    conversation.save(update_fields=["title"])
    return conversation


def conversation_arrange(
    *, conversation: Conversation, pinned: bool | None = None, archived: bool | None = None
) -> Conversation:
    """Pin or unpin, archive or unarchive, without touching its time of last activity."""
    changes = {k: v for k, v in {"pinned": pinned, "archived": archived}.items() if v is not None}
    Conversation.objects.filter(pk=conversation.pk).update(**changes)
    for name, value in changes.items():
        setattr(conversation, name, value)
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    """Delete a conversation and its messages, stopping any answer still being written."""
    for answer in conversation.messages.filter(status__in=Message.ACTIVE_STATUSES):
        message_stop(message=answer)
    conversation.delete()


def message_send(*, conversation: Conversation, content: str) -> tuple[Message, Message]:
    """Store the user's message and a queued answer, then queue the answer's generation.

    The checks read before the transaction: on SQLite a write transaction locks the whole
    database, and the workers' claims wait for it (they waited 10-40 ms while eight
    questions were stored together with the checks inside). Questions to one web process
    are stored one at a time (webui.chat.arrival_order), so a user's limits still hold.
    """
    content = _clean_content(content)
    model = _checked_model(conversation)
    with transaction.atomic():
        _answered_by(conversation, model)
        question = Message.objects.create(
            conversation=conversation,
            role=Message.Role.USER,
            content=content,
            parent_id=versions.path_end_id(conversation),
        )
        return question, answer_queue(conversation=conversation, model=model, parent=question)


def answer_model(conversation: Conversation) -> LLMModel:
    """The model that will write the conversation's next answer, if the user may use it."""
    model = _checked_model(conversation)
    _answered_by(conversation, model)
    return model


def _checked_model(conversation: Conversation) -> LLMModel:
    model = _usable_model(conversation.model)
    try:
        team_gate.check_send(user=conversation.owner, model=model)
    except team_gate.Refused as exc:
        raise MessageRejected(str(exc)) from None
    return model


def _answered_by(conversation: Conversation, model: LLMModel) -> None:
    """Record the model and the time of activity on the conversation."""
    if conversation.model_id != model.pk:
        conversation.model = model
    conversation.save(update_fields=["model", "updated_at"])


def answer_queue(
    *, conversation: Conversation, model: LLMModel, parent: Message, **version
) -> Message:
    """Store a queued answer after `parent` and send it to the model's workers on commit.

    `version` (version_of=...) makes it a new version of an earlier answer.
    """
    answer = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Message.Status.QUEUED,
        model=model,
        parent=parent,
        **version,
    )
    transaction.on_commit(
        lambda: dispatch.enqueue_generation(message_id=answer.pk, queue=model.queue_name)
    )
    return answer


def message_stop(*, message: Message) -> None:
    """Stop an answer: drop it from the queue, or ask its worker to end it now."""
    stopped = Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).update(
        status=Message.Status.STOPPED, finished_at=timezone.now()
    )
    if stopped:
        broadcast.message_changed(message)
    else:
        # Streaming, or claimed by a worker since `message` was read: the worker checks
        # this flag after every token (and a finished answer ignores it).
        streambuffer.request_stop(message.pk)


def generation_claim(
    *, message_id: int, worker: str, model_slug: str | None = None
) -> Message | None:
    """Take a queued answer for this worker; None if it is gone, stopped or taken already,
    or (with `model_slug`) if it is for another model than the worker's.

    The views hear of it from the worker, with the answer's first text or soon after
    (inference.start_notice): not here, while the model reads the prompt.
    """
    queued = Message.objects.filter(pk=message_id, status=Message.Status.QUEUED)
    if model_slug is not None:
        queued = queued.filter(Q(model__slug=model_slug) | Q(model__isnull=True))
    claimed = queued.update(
        status=Message.Status.STREAMING, worker=worker, started_at=timezone.now()
    )
    if not claimed:
        return None
    return Message.objects.select_related("conversation", "model").get(pk=message_id)


def generation_progress(*, message_id: int, content: str) -> None:
    """Save what has streamed so far, so a reload shows it even without Redis."""
    Message.objects.filter(pk=message_id, status=Message.Status.STREAMING).update(content=content)


def generation_finish(*, message: Message, content: str, status: str, error: str = "", **figures):
    """Store the finished answer with its status and figures, and tell every view."""
    Message.objects.filter(pk=message.pk).update(
        content=content, status=status, error=error, finished_at=timezone.now(), **figures
    )
    Conversation.objects.filter(pk=message.conversation_id).update(updated_at=timezone.now())
    team_usage.record_answer(message.pk)
    broadcast.message_changed(message)


def reap_orphans() -> list[int]:
    """End every answer left behind; return the ids of those ended as failed.

    Streaming answers whose worker stopped sending heartbeats fail. Queued answers whose
    model's workers all failed to load it, or that waited past their task's lifetime,
    fail with the reason; those whose task was lost with a worker or with Redis's data
    are sent again (see stranded.py).
    """
    timeout = settings.HOMEFIRE["WORKER_HEARTBEAT_TIMEOUT"]
    if redis_uptime() < timeout:
        # Redis just restarted: live workers have not all beaten again yet.
        return []
    now = timezone.now()
    ended = stranded.fail_expired(now) + stranded.fail_unloadable()
    stranded.requeue_lost(now)
    return _fail_abandoned_streams(now - timedelta(seconds=timeout)) + ended


_last_reaped = 0.0
_reaping = threading.Lock()


def reap_orphans_now_and_then(every: float) -> None:
    """reap_orphans, at most once every `every` seconds in this process.

    Every open tab with a pending answer watches for orphans; one pass ends them for all
    (and tells every view), so a hundred tabs need not query a hundred times a moment.
    """
    global _last_reaped
    if time.monotonic() - _last_reaped < every or not _reaping.acquire(blocking=False):
        return
    try:
        _last_reaped = time.monotonic()
        reap_orphans()
    finally:
        _reaping.release()


def _fail_abandoned_streams(cutoff) -> list[int]:
    suspects = Message.objects.filter(status=Message.Status.STREAMING, started_at__lt=cutoff)
    reaped = []
    for message in suspects.only("id", "conversation_id", "worker", "content"):
        if is_alive(message.worker):
            continue
        partial = streambuffer.read(message.pk).decode(errors="replace") or message.content
        updated = Message.objects.filter(pk=message.pk, status=Message.Status.STREAMING).update(
            status=Message.Status.FAILED,
            content=partial,
            error="The worker stopped while writing this answer. Send the message again.",
            finished_at=timezone.now(),
        )
        if updated:
            log.warning("answer %s failed: worker %s went away", message.pk, message.worker)
            broadcast.message_changed(message)
            reaped.append(message.pk)
    return reaped
