"""Usage: one record per finished answer, written by the worker as the answer ends."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from webui.chat.models import Message
from webui.team.models import UsageRecord

log = logging.getLogger(__name__)


def record_answer(message_id: int) -> UsageRecord | None:
    """Record a finished answer's tokens and GPU-seconds; never twice, never raises.

    GPU-seconds are the worker's time on the answer: from claiming it (started_at) to
    finishing it (finished_at). Answers that never reached a worker are not recorded.
    """
    try:
        return _record(message_id)
    except Exception:
        log.exception("usage of answer %s was not recorded", message_id)
        return None


def _record(message_id: int) -> UsageRecord | None:
    message = (
        Message.objects.select_related("conversation__owner", "model").filter(pk=message_id).first()
    )
    if message is None or message.started_at is None or message.is_active:
        return None
    owner = message.conversation.owner
    finished = message.finished_at or timezone.now()
    try:
        with transaction.atomic():
            record = UsageRecord.objects.create(
                message_id=message.pk,
                user=owner,
                model=message.model,
                model_name=message.model.name if message.model else "",
                via="api" if (message.sampling or {}).get("via") == "api" else "chat",
                day=timezone.localdate(finished),
                prompt_tokens=message.prompt_tokens or 0,
                completion_tokens=message.completion_tokens or 0,
                gpu_seconds=max((finished - message.started_at).total_seconds(), 0.0),
            )
            record.groups.set(owner.groups.all())
    except IntegrityError:
        return None  # recorded already
    return record
