"""Limits per user and per group: tokens a day, answers at once, requests a minute.

The counts of a user's answers come from the chat app (webui.chat.standing), which builds
the Standing that check() judges.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from webui.team import policy_cache
from webui.team.models import Limit, UsageRecord

FIELDS = ("tokens_per_day", "max_active", "requests_per_minute")
# Shown in the composer once less than this share of a limit is left.
NEAR_SHARE = 0.2


@dataclass(frozen=True)
class Allowance:
    tokens_per_day: int | None = None
    max_active: int | None = None
    requests_per_minute: int | None = None

    @property
    def unlimited(self) -> bool:
        return all(getattr(self, name) is None for name in FIELDS)


def allowance_for(user) -> Allowance:
    """A user's own value per field, else the most generous group value, else everyone's."""
    if user.is_superuser:
        return Allowance()
    return policy_cache.cached(("allowance", user.pk), lambda: _allowance_read(user))


def _allowance_read(user) -> Allowance:
    rows = list(
        Limit.objects.filter(
            Q(user=user) | Q(group__in=user.groups.all()) | Q(user__isnull=True, group__isnull=True)
        )
    )
    own = [r for r in rows if r.user_id == user.pk]
    groups = [r for r in rows if r.group_id is not None]
    everyone = [r for r in rows if r.user_id is None and r.group_id is None]

    def values(rows, name):
        return [getattr(r, name) for r in rows if getattr(r, name) is not None]

    chosen = {}
    for name in FIELDS:
        if mine := values(own, name):
            chosen[name] = mine[0]
        elif theirs := values(groups, name):
            chosen[name] = max(theirs)
        else:
            chosen[name] = next(iter(values(everyone, name)), None)
    return Allowance(**chosen)


@dataclass(frozen=True)
class Standing:
    """Where a user stands against their allowance right now."""

    allowance: Allowance
    tokens_today: int
    active: int
    last_minute: int
    oldest_in_minute: datetime | None

    @property
    def tokens_left(self) -> int | None:
        limit = self.allowance.tokens_per_day
        return None if limit is None else max(limit - self.tokens_today, 0)

    @property
    def active_left(self) -> int | None:
        limit = self.allowance.max_active
        return None if limit is None else max(limit - self.active, 0)

    @property
    def requests_left(self) -> int | None:
        limit = self.allowance.requests_per_minute
        return None if limit is None else max(limit - self.last_minute, 0)

    @property
    def near_limit(self) -> bool:
        a = self.allowance
        pairs = [(self.tokens_left, a.tokens_per_day), (self.requests_left, a.requests_per_minute)]
        return any(left is not None and left <= limit * NEAR_SHARE for left, limit in pairs) or (
            self.active_left is not None and self.active_left <= 1
        )


def tokens_today(user) -> int:
    totals = UsageRecord.objects.filter(user=user, day=timezone.localdate()).aggregate(
        prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens")
    )
    return (totals["prompt"] or 0) + (totals["completion"] or 0)


def seconds_to_midnight() -> int:
    now = timezone.localtime()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(int((midnight - now).total_seconds()) + 1, 1)


class LimitReached(Exception):
    """Over a limit: the text says which, in words for the user; retry_after in seconds."""

    def __init__(self, text: str, retry_after: int):
        super().__init__(text)
        self.retry_after = retry_after


def check(standing: Standing) -> Standing:
    """Raise LimitReached when one more request would go past a limit."""
    a = standing.allowance
    if a.tokens_per_day is not None and standing.tokens_left == 0:
        raise LimitReached(
            f"You have used your {a.tokens_per_day:,} tokens for today. "
            "The limit starts again at midnight.",
            seconds_to_midnight(),
        )
    if a.max_active is not None and standing.active_left == 0:
        raise LimitReached(
            f"You already have {standing.active} answers in progress; the limit is "
            f"{a.max_active} at once. Wait for one to finish.",
            5,
        )
    if a.requests_per_minute is not None and standing.requests_left == 0:
        waited = (timezone.now() - standing.oldest_in_minute).total_seconds()
        wait = max(int(60 - waited) + 1, 1)
        raise LimitReached(
            f"You have sent {standing.last_minute} messages in the last minute; the limit is "
            f"{a.requests_per_minute} a minute. Try again in {wait} seconds.",
            wait,
        )
    return standing
