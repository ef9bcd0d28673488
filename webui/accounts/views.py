"""Sign-up, under the team's sign-up policy; logging in is Django's view, throttled;
deleting one's own account."""

from django import forms
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from webui.accounts.deletion import delete_account
from webui.accounts.forms import SignUpForm
from webui.team.signup import SignupRefused, admit, signup_pass
from webui.team.throttle import ThrottledAuthenticationForm


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


login_view = auth_views.LoginView.as_view(
    redirect_authenticated_user=True, authentication_form=ThrottledAuthenticationForm
)


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
