"""Password reset pages: Django's views with Homefire's templates and forms; without email
configured, the request page says to ask an admin."""

from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.urls import reverse_lazy

from webui.accounts import password_reset


class ResetRequestView(auth_views.PasswordResetView):
    form_class = password_reset.ResetRequestForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def dispatch(self, request, *args, **kwargs):
        if not password_reset.email_configured():
            return render(request, "accounts/password_reset_unavailable.html", status=404)
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "timeout_text": password_reset.timeout_text()}

    @property
    def extra_email_context(self):
        return {"timeout_text": password_reset.timeout_text()}


class ResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = password_reset.ResetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and password_reset.resets_by_password(user) else None


class ResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


reset_request = ResetRequestView.as_view()
reset_done = ResetDoneView.as_view()
reset_confirm = ResetConfirmView.as_view()
reset_complete = ResetCompleteView.as_view()
