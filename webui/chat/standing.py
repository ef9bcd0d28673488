"""Where a user stands against the team's limits, counted from the user's answers."""

from datetime import timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from webui.chat.models import Message
from webui.registry.models import LLMModel
from webui.team import gate, limits, policy_cache


def standing_of(user) -> limits.Standing:
    allowance = limits.allowance_for(user)
    answers = Message.objects.filter(conversation__owner=user, role=Message.Role.ASSISTANT)
    since = timezone.now() - timedelta(minutes=1)
    # Counted from when each answer last joined the queue: a Continue is a request too.
    recent = Q(queued_at__gte=since)
    counts = {}
    if allowance.max_active is not None:
        counts["active"] = Count("pk", filter=Q(status__in=Message.ACTIVE_STATUSES))
    if allowance.requests_per_minute is not None:
        counts["last_minute"] = Count("pk", filter=recent)
        counts["oldest_in_minute"] = Min("queued_at", filter=recent)
    # Every count the user's limits need, in one pass over the user's answers.
    figures = answers.aggregate(**counts) if counts else {}
    return limits.Standing(
        allowance=allowance,
        tokens_today=limits.tokens_today(user) if allowance.tokens_per_day is not None else 0,
        active=figures.get("active", 0),
        last_minute=figures.get("last_minute", 0),
        oldest_in_minute=figures.get("oldest_in_minute"),
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
