"""Who must have a second factor, and whether this session confirmed one lately.

It lives in team, below the accounts and API apps, so that the API keys page can ask for
a fresh second factor without importing the accounts app (docs/decisions/two-factor.md).
"""

import time
from functools import wraps
from urllib.parse import urlencode

import django_otp
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from webui.team.models import TeamSettings

# How long a confirmed code counts as fresh for acts that ask for one again.
FRESH_SECONDS = 600
_VERIFIED_AT = "two_factor_verified_at"


def has_device(user) -> bool:
    """Whether the account has an authenticator set up (recovery codes come with one)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def is_required(user) -> bool:
    """Whether the team requires a second factor of this account (TeamSettings)."""
    team = TeamSettings.current()
    if user.is_staff and team.two_factor_required_for_staff:
        return True
    if team._state.adding:  # the row is not saved yet: no groups chosen
        return False
    return team.two_factor_required_groups.filter(user=user).exists()


def mark_verified(request, device) -> None:
    """This session has just confirmed a code from `device`."""
    django_otp.login(request, device)
    request.session[_VERIFIED_AT] = time.time()


def is_fresh(request) -> bool:
    at = request.session.get(_VERIFIED_AT)
    return isinstance(at, float) and 0 <= time.time() - at < FRESH_SECONDS


def fresh_for_post(view):
    """A POST to this view needs a code confirmed in the last ten minutes, when the
    account has a second factor: otherwise the member confirms one, then comes back."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST" and has_device(request.user) and not is_fresh(request):
            query = urlencode({"next": request.get_full_path(), "again": "1"})
            return redirect(f"{reverse('two_factor_code')}?{query}")
        return view(request, *args, **kwargs)

    return wrapped
