"""Accounts waiting for approval see one page that says so, and nothing else."""

from django.shortcuts import redirect
from django.urls import reverse

from webui.team.gate import account_refusal

# Paths a pending account may still reach: leaving, deleting itself, static files, and
# the API (which answers pending keys with its own 403).
ALLOWED_PREFIXES = ("/static/", "/healthz", "/metrics", "/v1/", "/accounts/logout/")


class AccountGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in and not self._allowed(request.path) and account_refusal(user):
            return redirect("team:pending")
        return self.get_response(request)

    @staticmethod
    def _allowed(path: str) -> bool:
        own = (reverse("team:pending"), reverse("team:account_delete"))
        return path.startswith(ALLOWED_PREFIXES) or path in own
