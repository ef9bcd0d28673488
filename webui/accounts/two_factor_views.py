"""Two-factor pages: the code after the password, setting up an authenticator, recovery
codes shown once, turning it off (with a code)."""

from django import forms
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import DEVICE_ID_SESSION_KEY

from webui.accounts import password_reset, two_factor
from webui.core.client_address import client_address
from webui.team import second_factor

# The new recovery codes wait in the session for the one page view after the redirect.
_NEW_CODES = "two_factor_new_codes"


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def __init__(self, *args, user, address: str, unconfirmed=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.address, self.unconfirmed = user, address, unconfirmed
        self.device = None

    def clean_code(self):
        code = self.cleaned_data["code"]
        self.device = two_factor.check_code(
            self.user, code, self.address, unconfirmed=self.unconfirmed
        )
        return code


class LoginView(auth_views.LoginView):
    """Django's log-in; an account with a second factor signs in only once its code is in."""

    def form_valid(self, form):
        user = form.get_user()
        if second_factor.has_device(user):
            two_factor.hold(self.request, user, self.get_success_url())
            return redirect("two_factor_code")
        return super().form_valid(form)

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "reset_by_email": password_reset.email_configured(),
        }


def _safe_next(request, url: str | None) -> str:
    allowed = url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if allowed else reverse("chat:home")


@require_http_methods(["GET", "POST"])
def code(request):
    """The second step: after the password, or again for an act that wants a fresh code."""
    address = client_address(request)
    if request.user.is_authenticated:
        if not second_factor.has_device(request.user):
            return redirect(_safe_next(request, request.GET.get("next")))
        user, pending = request.user, None
    elif (pending := two_factor.held(request)) is not None:
        user = pending[0]
    else:
        return redirect("login")
    form = CodeForm(request.POST or None, user=user, address=address)
    form.fields["code"].widget.attrs["autofocus"] = True  # the one thing on this page
    if request.method == "POST" and form.is_valid():
        if pending is not None:
            user, backend, next_url = pending
            two_factor.release(request)
            request.second_factor = two_factor.kind_of(form.device)  # for the audit entry
            login(request, user, backend=backend)
        else:
            next_url = request.GET.get("next")
        second_factor.mark_verified(request, form.device)
        if two_factor.kind_of(form.device) == two_factor.RECOVERY:
            # The page says how many are left, and how to set up a new phone.
            return redirect(f"{reverse('two_factor')}?recovery=used")
        return redirect(_safe_next(request, next_url))
    context = {"form": form, "again": pending is None}
    return render(request, "accounts/two_factor_code.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def setup(request):
    """Set up an authenticator app, or (when there is one) see it and turn it off."""
    user = request.user
    if second_factor.has_device(user):
        context = {
            "codes_left": two_factor.recovery_codes_left(user),
            "required": second_factor.is_required(user),
            "form": CodeForm(user=user, address=""),
            "recovery_used": request.GET.get("recovery") == "used",
        }
        return render(request, "accounts/two_factor.html", context)
    device = two_factor.pending_device(user)
    form = CodeForm(
        request.POST or None, user=user, address=client_address(request), unconfirmed=device
    )
    if request.method == "POST" and form.is_valid():
        request.session[_NEW_CODES] = two_factor.enrolment_confirm(user=user, device=device)
        second_factor.mark_verified(request, device)
        return redirect("two_factor_recovery_codes")
    context = {
        "form": form,
        "qr": two_factor.qr_data_uri(device),
        "secret": two_factor.secret_text(device),
        "required": second_factor.is_required(user),
    }
    return render(request, "accounts/two_factor_setup.html", context)


@login_required
def recovery_codes(request):
    """The new recovery codes, shown this once; a reload shows them no more."""
    codes = request.session.pop(_NEW_CODES, None)
    if not codes:
        return redirect("two_factor")
    return render(request, "accounts/two_factor_recovery_codes.html", {"codes": codes})


@require_POST
@login_required
def turn_off(request):
    """Turning it off takes a code, so that an open laptop is not enough."""
    user = request.user
    form = CodeForm(request.POST, user=user, address=client_address(request))
    if not form.is_valid():
        context = {
            "codes_left": two_factor.recovery_codes_left(user),
            "required": second_factor.is_required(user),
            "form": form,
        }
        return render(request, "accounts/two_factor.html", context, status=400)
    two_factor.two_factor_remove(user=user, actor=user)
    request.session.pop(DEVICE_ID_SESSION_KEY, None)
    return redirect("two_factor")
