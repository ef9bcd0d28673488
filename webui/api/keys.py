"""The API keys page: create named keys (shown once), see when each was used, revoke."""

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from webui.api.models import ApiKey


class KeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Leave empty for no expiry."
    )


@login_required
@require_http_methods(["GET", "POST"])
def key_list(request):
    form = KeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        expires = timezone.now() + timedelta(days=days) if days else None
        _, new_key = ApiKey.issue(
            user=request.user, name=form.cleaned_data["name"], expires_at=expires
        )
        form = KeyForm()
    keys = ApiKey.objects.filter(user=request.user)
    return render(
        request,
        "api/keys.html",
        {"form": form, "keys": keys, "new_key": new_key, "now": timezone.now()},
    )


@login_required
@require_POST
def key_revoke(request, key_id: int):
    key = get_object_or_404(ApiKey, pk=key_id, user=request.user)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return redirect("api:keys")
