"""Usage: one record per finished run of an answer, written as it ends (webui.chat.answers).

An answer runs once, and once more each time it is continued after its length limit cut
it; every run is work the worker did, so each counts, in reports and against limits.
"""

import secrets
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max
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
    """Record a finished run of an answer: its tokens and GPU-seconds, each run once; None
    if this run is recorded already.

    A run is known by when the worker claimed it (started_at): a finish repeated for the
    same run counts nothing, the run after a Continue is the answer's next part.
    GPU-seconds are the worker's time on the run, from claiming to finishing; answers that
    never reached a worker are not recorded.
    """
    try:
        with transaction.atomic():
            runs = UsageRecord.objects.filter(message_id=message_id)
            if runs.filter(started_at=started_at).exists():
                return None
            # Two finishes of one run that race get the same part: the unique constraint
            # on (message_id, part) lets one through.
            part = (runs.aggregate(last=Max("part"))["last"] or 0) + 1
            record = UsageRecord.objects.create(
                message_id=message_id,
                part=part,
                started_at=started_at,
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


def record_embeddings(
    *, user, model, via: str, finished_at: datetime, prompt_tokens: int, seconds: float
) -> UsageRecord:
    """Record an embeddings request: the tokens its inputs took and the worker's seconds.

    It has no answer: its message_id is a random negative number, which names no message
    and keeps the one-record-per-answer-part constraint out of its way.
    """
    with transaction.atomic():
        record = UsageRecord.objects.create(
            message_id=-secrets.randbits(62) - 1,
            started_at=finished_at,
            user=user,
            model=model,
            model_name=model.name,
            via=via,
            day=timezone.localdate(finished_at),
            prompt_tokens=prompt_tokens,
            gpu_seconds=max(seconds, 0.0),
        )
        record.groups.set(user.groups.all())
    return record
