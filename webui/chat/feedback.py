"""👍 and 👎 on answers: giving, changing and taking back one's rating, and the team's
per-model summary of them."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from webui.chat import selectors
from webui.chat.models import AnswerFeedback, Message
from webui.chat.sampling import SamplingRejected
from webui.team.reports import Filters

RATABLE = (Message.Status.DONE, Message.Status.STOPPED)


class FeedbackRejected(ValueError):
    """The feedback cannot be stored; the text says why, in words for the member."""


def _settings_of(message: Message) -> dict:
    """The settings the answer was written with, as the worker read them."""
    try:
        return selectors.answer_sampling(message)
    except SamplingRejected:  # an old row the worker would refuse now: keep it as stored
        return message.sampling if isinstance(message.sampling, dict) else {}


@transaction.atomic
def feedback_set(*, message: Message, rating: str, comment: str | None = None):
    """Rate an answer 👍 ("up") or 👎 ("down"), or take the rating back (""); a comment of
    None keeps the one given before. Returns the feedback, or None once taken back."""
    if message.role != Message.Role.ASSISTANT or message.status not in RATABLE:
        raise FeedbackRejected("Only a finished answer can be rated.")
    if rating == "":
        AnswerFeedback.objects.filter(message=message).delete()
        return None
    if rating not in AnswerFeedback.Rating.values:
        raise FeedbackRejected("A rating is 👍 or 👎.")
    if comment is not None:
        comment = comment.strip()
        if len(comment) > AnswerFeedback.COMMENT_MAX:
            raise FeedbackRejected(
                f"A comment holds up to {AnswerFeedback.COMMENT_MAX:,} characters "
                f"(this one has {len(comment):,})."
            )
    # Locks the answer's row: two tabs rating it at once leave one feedback, the later one.
    # Only that row: PostgreSQL refuses to lock the nullable side of the model's outer join.
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("conversation", "model")
        .get(pk=message.pk)
    )
    defaults = {
        "owner_id": message.conversation.owner_id,
        "rating": rating,
        "model": message.model,
        "sampling": _settings_of(message),
    }
    if comment is not None:
        defaults["comment"] = comment
    feedback, _ = AnswerFeedback.objects.update_or_create(message=message, defaults=defaults)
    return feedback


@dataclass(frozen=True)
class ModelFeedback:
    """A model's ratings: how many 👍 and 👎, and the share of 👍."""

    model_name: str
    up: int
    down: int

    @property
    def total(self) -> int:
        return self.up + self.down

    @property
    def share(self) -> float:
        """The share of 👍 among the ratings, from 0 to 1."""
        return self.up / self.total if self.total else 0.0


def feedback_in(filters: Filters) -> QuerySet[AnswerFeedback]:
    """Feedback given in the usage pages' period (webui.team.reports), by their filters."""
    rows = AnswerFeedback.objects.filter(
        updated_at__date__gte=filters.start, updated_at__date__lte=filters.end
    )
    if filters.user_id:
        rows = rows.filter(owner_id=filters.user_id)
    if filters.group_id:
        rows = rows.filter(owner__groups__id=filters.group_id)
    if filters.model_id:
        rows = rows.filter(model_id=filters.model_id)
    return rows


def feedback_summary(rows: QuerySet[AnswerFeedback]) -> list[ModelFeedback]:
    """👍, 👎 and their share for each model, most rated first (one query)."""
    counted = (
        rows.values("model__name")
        .annotate(
            up=Count("id", filter=Q(rating=AnswerFeedback.Rating.UP)),
            down=Count("id", filter=Q(rating=AnswerFeedback.Rating.DOWN)),
        )
        .order_by("model__name")
    )
    summary = [
        ModelFeedback(r["model__name"] or "(model deleted)", r["up"], r["down"]) for r in counted
    ]
    return sorted(summary, key=lambda s: -s.total)
