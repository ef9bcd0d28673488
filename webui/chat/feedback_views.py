"""👍/👎 on an answer (the member's own), and the staff's download of all feedback as CSV."""

import csv
import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from webui.chat import feedback, selectors
from webui.chat.models import AnswerFeedback
from webui.team import reports
from webui.team.access import staff_required


@require_POST
@login_required
def rate(request, message_id: int):
    """Rate an answer, change or take back the rating, or save its comment."""
    message = selectors.message_get(user=request.user, id=message_id)
    comment = request.POST.get("comment")  # None: a rating button alone, the comment stays
    context = {"m": message, "comment_max": AnswerFeedback.COMMENT_MAX}
    try:
        feedback.feedback_set(
            message=message, rating=request.POST.get("rating", ""), comment=comment
        )
        context["saved"] = comment is not None
        context["opened"] = comment is not None
    except feedback.FeedbackRejected as exc:
        if not request.htmx:
            return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
        context["error"] = str(exc)
    if not request.htmx:
        return redirect(f"{message.conversation.get_absolute_url()}#message-{message.pk}")
    # htmx swaps only a 2xx answer: a refusal comes back as the form with its reason.
    return render(request, "chat/_feedback.html", context)


CSV_COLUMNS = [
    "rated_at",
    "user",
    "model",
    "rating",
    "comment",
    "temperature",
    "top_p",
    "max_tokens",
    "sampling",
    "message_id",
]


@require_GET
@staff_required
def feedback_csv(request):
    """Every 👍/👎 in the usage page's period and filters, one row each, newest first."""
    filters = reports.filters_from(request.GET)
    rows = feedback.feedback_in(filters).select_related("owner", "model").order_by("-updated_at")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="homefire-feedback-{filters.start}-{filters.end}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in rows.iterator(chunk_size=500):
        sampling = row.sampling if isinstance(row.sampling, dict) else {}
        values = (
            row.updated_at.isoformat(),
            row.owner.username,
            row.model.name if row.model else "",
            row.rating,
            row.comment,
            sampling.get("temperature", ""),
            sampling.get("top_p", ""),
            sampling.get("max_tokens", ""),
            json.dumps(sampling, sort_keys=True),
            row.message_id,
        )
        writer.writerow([reports.spreadsheet_safe(v) for v in values])
    return response
