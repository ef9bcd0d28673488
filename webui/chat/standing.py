"""Where a user stands against the team's limits, counted from the user's answers."""

from datetime import timedelta

from django.utils import timezone

from webui.chat.models import Message
from webui.registry.models import LLMModel
from webui.team import gate, limits, policy_cache


def standing_of(user) -> limits.Standing:
    allowance = limits.allowance_for(user)
    answers = Message.objects.filter(conversation__owner=user, role=Message.Role.ASSISTANT)
    since = timezone.now() - timedelta(minutes=1)
    # Counted from when each answer last joined the queue: a Continue is a request too.
    recent = answers.filter(queued_at__gte=since).order_by("queued_at")
    per_minute = allowance.requests_per_minute is not None
    return limits.Standing(
        allowance=allowance,
        tokens_today=limits.tokens_today(user) if allowance.tokens_per_day is not None else 0,
        active=answers.filter(status__in=Message.ACTIVE_STATUSES).count()
        if allowance.max_active is not None
        else 0,
        last_minute=recent.count() if per_minute else 0,
        oldest_in_minute=recent.values_list("queued_at", flat=True).first() if per_minute else None,
    )


def check_send(*, user, model: LLMModel) -> None:
    """Raise gate.Refused unless this user may send one more message to this model now."""
    with policy_cache.one_read():
        gate.check_access(user=user, model=model)
        check_limits(user)


def check_limits(user) -> None:
    """Raise gate.Refused when one more message would go past one of the user's limits.

    Part of check_send, for callers that already checked the account and the model (the
    API checks them when it reads the key and the model's name).
    """
    gate.check_standing(standing_of(user))
