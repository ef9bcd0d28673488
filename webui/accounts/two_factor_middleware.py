"""Signed-in sessions that still owe a second factor go to the page that takes it.

The password form itself signs in only after the code (two_factor_views.LoginView); this
catches the other ways in (the admin's own log-in form, a provider's sign-in) and the
accounts the team requires a second factor of, sent to set one up before anything else.
"""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from webui.team import second_factor

# Paths open to such a session: leaving, static files, the API (keys are their own factor).
ALLOWED_PREFIXES = ("/static/", "/healthz", "/metrics", "/v1/", "/accounts/logout/")
_OWN_PAGES = ("two_factor", "two_factor_code", "two_factor_recovery_codes", "team:pending")


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not self._allowed(request.path)
        ):
            if second_factor.has_device(user):
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('two_factor_code')}?{query}")
            if second_factor.is_required(user):
                return redirect("two_factor")
        return self.get_response(request)

    @staticmethod
    def _allowed(path: str) -> bool:
        return path.startswith(ALLOWED_PREFIXES) or path in {reverse(n) for n in _OWN_PAGES}
