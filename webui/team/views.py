"""Team pages: waiting for approval, usage (one's own, and the team's for staff), deleting
one's account, and an admin's audited read of a member's conversation."""

import csv
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from webui.chat.models import Conversation
from webui.registry.models import LLMModel
from webui.team import audit, reports
from webui.team.access import is_manager
from webui.team.account import delete_account
from webui.team.gate import account_refusal
from webui.team.limits import standing_of


def staff_required(view):
    """Log-in first (strangers go to the log-in page), then staff only: others get a 404."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not is_manager(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


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
    context["standing"] = standing_of(request.user)
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


CSV_COLUMNS = ["day", "user", "groups", "model", "via", "requests", "prompt_tokens",
               "completion_tokens", "gpu_seconds"]  # fmt: skip


def _cell(value) -> str:
    """Keep spreadsheets from running a cell as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


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
        writer.writerow([_cell(v) for v in (r.day, r.user.username, groups, r.model_name, r.via,
                         r.requests, r.prompt_tokens, r.completion_tokens,
                         f"{r.gpu_seconds:.3f}")])  # fmt: skip
    return response


class DeleteAccountForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, help_text="Your password, to confirm.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password


@require_http_methods(["GET", "POST"])
@login_required
def account_delete(request):
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        delete_account(user)
        return render(request, "team/account_deleted.html")
    return render(request, "team/account_delete.html", {"form": form})


class ReadReasonForm(forms.Form):
    reason = forms.CharField(
        min_length=5,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you need to read this conversation. It is written to the audit log.",
    )


@require_http_methods(["GET", "POST"])
@staff_required
def read_conversation(request, conversation_id: int):
    """Staff read a member's conversation: only when allowed, only with a reason, audited."""
    if not settings.HOMEFIRE["ADMIN_CAN_READ"] or not request.user.has_perm("chat.view_message"):
        raise PermissionDenied("Reading members' conversations is turned off on this server.")
    conversation = get_object_or_404(
        Conversation.objects.select_related("owner"), pk=conversation_id
    )
    form = ReadReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        audit.record(
            actor=request.user,
            action="read conversation",
            target=f"conversation {conversation.pk} of {conversation.owner.username}",
            reason=form.cleaned_data["reason"],
        )
        messages = conversation.messages.order_by("created_at", "id")
        context = {"conversation": conversation, "messages": messages}
        return render(request, "team/read_conversation.html", context)
    return render(request, "team/read_reason.html", {"conversation": conversation, "form": form})
