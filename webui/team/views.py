"""Team pages: waiting for approval, and usage (one's own, and the team's for staff)."""

import csv

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from webui.registry.models import LLMModel
from webui.team import reports
from webui.team.access import staff_required
from webui.team.gate import account_refusal


@require_GET
@login_required
def pending(request):
    if not (refusal := account_refusal(request.user)):
        return redirect("chat:home")
    return render(request, "team/pending.html", {"reason": refusal})


def _usage_context(request, rows, filters) -> dict:
    total = reports.totals(rows)
    return {
        "filters": filters,
        "total": total,
        "charts": reports.charts(reports.per_day(rows, filters)),
        "by_model": reports.breakdown(rows, "model_name"),
        "savings": reports.savings(total),
    }


@require_GET
@login_required
def my_usage(request):
    filters = reports.filters_from(request.GET)
    rows = reports.records(filters, user=request.user)
    context = _usage_context(request, rows, filters)
    return render(request, "team/my_usage.html", context)


@require_GET
@staff_required
def team_usage(request):
    filters = reports.filters_from(request.GET)
    rows = reports.records(filters)
    context = _usage_context(request, rows, filters)
    context.update(
        by_user=reports.breakdown(rows, "user__username"),
        users=get_user_model().objects.order_by("username").only("id", "username"),
        groups=Group.objects.order_by("name"),
        models=LLMModel.objects.order_by("name").only("id", "name"),
    )
    return render(request, "team/usage.html", context)


CSV_COLUMNS = [
    "day",
    "user",
    "groups",
    "model",
    "via",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "gpu_seconds",
]


@require_GET
@staff_required
def team_usage_csv(request):
    filters = reports.filters_from(request.GET)
    rows = (
        reports.records(filters)
        .select_related("user")
        .prefetch_related("groups")
        .order_by("day", "id")
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="homefire-usage-{filters.start}-{filters.end}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        groups = " ".join(sorted(g.name for g in r.groups.all()))
        writer.writerow(
            [
                reports.spreadsheet_safe(v)
                for v in (
                    r.day,
                    r.user.username,
                    groups,
                    r.model_name,
                    r.via,
                    r.requests,
                    r.prompt_tokens,
                    r.completion_tokens,
                    f"{r.gpu_seconds:.3f}",
                )
            ]
        )
    return response
