"""Signing in with the OpenID Connect provider, and logging out there too.

mozilla-django-oidc's views do the protocol (state, nonce, PKCE, the code exchange); these
find the provider lazily, carry an invitation across the round trip, and answer every way
it can fail with a page that says what happened instead of a bare error.
"""

import logging

import jwt
import requests
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from webui.accounts import oidc_config
from webui.accounts.oidc_backend import INVITATION_KEY, REFUSED_ACTION
from webui.team import audit
from webui.team.signup import SignupRefused, signup_pass

log = logging.getLogger(__name__)

UNAVAILABLE_TEXT = (
    "{name} cannot be reached just now, so signing in with it is not possible. Try again "
    "in a while; accounts with a Homefire password can still log in with it."
)
TAMPERED_TEXT = (
    "This sign-in could not be checked: it was used already, started in another browser, "
    "or changed on the way. Start again from the log-in page."
)
CANCELLED_TEXT = "Signing in with {name} was cancelled or refused there. You are not signed in."
FAILED_TEXT = "Signing in with {name} did not work. Start again from the log-in page."


def _refused(request, reason: str, status: int):
    context = {"reason": reason, "provider": oidc_config.provider_name()}
    return render(request, "registration/oidc_refused.html", context, status=status)


class OidcLoginView(OIDCAuthenticationRequestView):
    """Send the visitor to the provider's own sign-in page."""

    get_settings = staticmethod(oidc_config.library_setting)

    def __init__(self, **kwargs):
        # The library asks for the provider's endpoint here; get() asks, and can answer
        # a provider that is down with a page.
        View.__init__(self, **kwargs)

    def get(self, request):
        if not oidc_config.configured():
            raise Http404
        invitation = request.GET.get("invite") or None
        if invitation:
            try:
                signup_pass(invitation)
            except SignupRefused as exc:
                return _refused(request, str(exc), status=403)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except oidc_config.ProviderUnavailable as exc:
            log.warning("OpenID Connect provider unavailable: %s", exc)
            name = oidc_config.provider_name()
            return _refused(request, UNAVAILABLE_TEXT.format(name=name), status=502)
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        if invitation:
            request.session[INVITATION_KEY] = invitation
        else:
            request.session.pop(INVITATION_KEY, None)
        return super().get(request)


class OidcCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the visitor back: check its answer, sign in or say why not."""

    get_settings = staticmethod(oidc_config.library_setting)

    def get(self, request):
        if not oidc_config.configured():
            raise Http404
        name = oidc_config.provider_name()
        if request.GET.get("error"):
            # Cancelled or refused at the provider. The library would also log out whoever
            # is signed in here, which any page could make a member's browser do.
            if request.session.get("oidc_states", {}).pop(request.GET.get("state"), None):
                request.session.modified = True
            return self.login_failure()
        try:
            return super().get(request)
        except (SuspiciousOperation, jwt.InvalidTokenError) as exc:
            # A state not in this session (forged, replayed, from another browser), a token
            # whose nonce, signature, issuer or audience is wrong.
            return self._refuse(TAMPERED_TEXT, status=400, detail=str(exc))
        except requests.HTTPError as exc:
            # The provider refused the code (used already, or its PKCE verifier is wrong).
            return self._refuse(FAILED_TEXT.format(name=name), status=400, detail=str(exc))
        except (requests.RequestException, oidc_config.ProviderUnavailable) as exc:
            log.warning("OpenID Connect provider unavailable: %s", exc)
            return _refused(request, UNAVAILABLE_TEXT.format(name=name), status=502)

    def login_failure(self):
        name = oidc_config.provider_name()
        if reason := getattr(self.request, "oidc_refusal", None):
            # The backend said why and audited it (the sign-up policy, a turned-off account).
            return _refused(self.request, reason, status=403)
        if self.request.GET.get("error"):
            return self._refuse(
                CANCELLED_TEXT.format(name=name), status=403, detail=self.request.GET["error"]
            )
        return self._refuse(FAILED_TEXT.format(name=name), status=403, detail="")

    def login_success(self):
        self.request.session.pop(INVITATION_KEY, None)
        return super().login_success()

    def _refuse(self, reason: str, *, status: int, detail: str):
        audit.record(actor=None, action=REFUSED_ACTION, reason=detail[:500])
        return _refused(self.request, reason, status=status)


class LogoutView(auth_views.LogoutView):
    """Django's log-out; a member who signed in with the provider goes on to its log-out
    page (when it has one), which sends them back to Homefire's log-in page."""

    def post(self, request, *args, **kwargs):
        back = request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL))
        provider = oidc_config.provider_logout_url(request, back)  # before the session goes
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(provider) if provider else response


login = OidcLoginView.as_view()
callback = OidcCallbackView.as_view()
logout = LogoutView.as_view()
