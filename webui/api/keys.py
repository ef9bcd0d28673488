"""The API keys page: create named keys (shown once), see when each was used, revoke."""

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from webui.api.models import ApiKey
from webui.team import second_factor


class KeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Leave empty for no expiry."
    )


# The new key waits in the session for the one page view after the redirect: a reload
# of that page, or of the form's POST, creates nothing and shows the key no more.
_NEW_KEY = "api_new_key"


@login_required
@require_http_methods(["GET", "POST"])
@second_factor.fresh_for_post  # a key is a factor of its own: made only with a fresh code
def key_list(request):
    form = KeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        expires = timezone.now() + timedelta(days=days) if days else None
        _, request.session[_NEW_KEY] = ApiKey.issue(
            user=request.user, name=form.cleaned_data["name"], expires_at=expires
        )
        return redirect("api:keys")
    keys = ApiKey.objects.filter(user=request.user)
    new_key = request.session.pop(_NEW_KEY, None) if request.method == "GET" else None
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
