"""Usage: one record per finished answer, written as the answer ends (webui.chat.answers)."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from webui.team.models import UsageRecord


def record_answer(
    *,
    message_id: int,
    user,
    model,
    via: str,
    started_at: datetime,
    finished_at: datetime,
    prompt_tokens: int,
    completion_tokens: int,
) -> UsageRecord | None:
    """Record a finished answer's tokens and GPU-seconds, never twice; None if recorded.

    GPU-seconds are the worker's time on the answer: from claiming it (started_at) to
    finishing it (finished_at). Answers that never reached a worker are not recorded.
    """
    try:
        with transaction.atomic():
            record = UsageRecord.objects.create(
                message_id=message_id,
                user=user,
                model=model,
                model_name=model.name if model else "",
                via=via,
                day=timezone.localdate(finished_at),
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                gpu_seconds=max((finished_at - started_at).total_seconds(), 0.0),
            )
            record.groups.set(user.groups.all())
    except IntegrityError:
        return None  # recorded already
    return record
