"""👍/👎 in templates: an answer's feedback, and the per-model summary for staff pages."""

from django import template
from django.core.exceptions import ObjectDoesNotExist

from webui.chat.feedback import feedback_in, feedback_summary
from webui.chat.models import AnswerFeedback

register = template.Library()


@register.filter
def feedback_of(message) -> AnswerFeedback | None:
    """The answer's feedback, or None (read with the page's messages where it selects it)."""
    try:
        return message.feedback
    except ObjectDoesNotExist:
        return None


@register.filter
def feedback_rows(filters):
    """The feedback the usage page's filters select (webui.team.reports.Filters)."""
    return feedback_in(filters)


@register.inclusion_tag("team/_feedback_summary.html")
def feedback_table(rows):
    """👍, 👎 and the share of 👍 per model, for these feedback rows."""
    return {"summary": feedback_summary(rows)}
