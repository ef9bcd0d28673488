"""Sign-up, under the team's sign-up policy; logging in and changing one's password are
Django's views, throttled; deleting one's own account (its password check throttled too)."""

from django import forms
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from webui.accounts import two_factor_views
from webui.accounts.deletion import delete_account
from webui.accounts.forms import SignUpForm, ThrottledPasswordChangeForm
from webui.core.client_address import client_address
from webui.team.signup import SignupRefused, admit, signup_pass
from webui.team.throttle import ThrottledAuthenticationForm, password_check


@require_http_methods(["GET", "POST"])
def signup(request, token: str | None = None):
    if request.user.is_authenticated:
        return redirect("chat:home")
    token = token or request.POST.get("invite") or request.GET.get("invite") or None
    try:
        allowed = signup_pass(token)
    except SignupRefused as exc:
        return render(request, "registration/signup_refused.html", {"reason": exc}, status=403)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
                admit(user, allowed)
        except SignupRefused as exc:
            return render(request, "registration/signup_refused.html", {"reason": exc}, status=403)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("chat:home")
    context = {"form": form, "invite": token or "", "policy": allowed.policy}
    return render(request, "registration/signup.html", context)


# Django's log-in, asking for the second factor of accounts that have one.
login_view = two_factor_views.LoginView.as_view(
    redirect_authenticated_user=True, authentication_form=ThrottledAuthenticationForm
)


class _PasswordChangeView(auth_views.PasswordChangeView):
    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


password_change = _PasswordChangeView.as_view()


class DeleteAccountForm(forms.Form):
    """Confirmed with the password; an account that signs in through the directory or an
    identity provider has none here, and types its username instead."""

    password = forms.CharField(widget=forms.PasswordInput, help_text="Your password, to confirm.")
    username = forms.CharField(help_text="Your username, to confirm.")

    def __init__(self, *args, user, address: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.address = address
        del self.fields["password" if not user.has_usable_password() else "username"]

    def clean_username(self):
        username = self.cleaned_data["username"]
        if username != self.user.get_username():
            raise forms.ValidationError("That is not your username.")
        return username

    def clean_password(self):
        password = self.cleaned_data["password"]
        with password_check(self.user.get_username(), self.address):
            if not self.user.check_password(password):
                raise forms.ValidationError("That is not your password.")
        return password


@require_http_methods(["GET", "POST"])
@login_required
def account_delete(request):
    form = DeleteAccountForm(
        request.POST or None, user=request.user, address=client_address(request)
    )
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        delete_account(user)
        return render(request, "team/account_deleted.html")
    return render(request, "team/account_delete.html", {"form": form})
