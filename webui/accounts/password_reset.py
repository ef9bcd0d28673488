"""Password reset by email, for accounts that sign in with Homefire's own password.

Links are Django's tokens: they carry a hash of the account's password and last log-in,
so they stop working once used (the password changed) or after PASSWORD_RESET_TIMEOUT.
Requests are counted per email address and per client address, in Redis, for an hour;
the answer never says whether an account has that address.
"""

import logging

import redis
from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm

from webui.core.client_address import client_address
from webui.core.redis import client
from webui.core.redis import keys as redis_keys
from webui.team import audit
from webui.team.models import Membership, SignInMethod

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 3600


def email_configured() -> bool:
    """Whether Homefire can send email (HOMEFIRE_EMAIL_HOST is set)."""
    return "default" in settings.MAILERS


def timeout_text() -> str:
    """How long a link works, in words: "1 hour", "30 minutes"."""
    minutes = max(1, settings.PASSWORD_RESET_TIMEOUT // 60)
    count, unit = (minutes // 60, "hour") if minutes % 60 == 0 else (minutes, "minute")
    return f"{count} {unit}" + ("" if count == 1 else "s")


def resets_by_password(user) -> bool:
    """Local accounts only: the directory or the provider owns the others' passwords."""
    method = Membership.objects.filter(user=user).values_list("sign_in_method", flat=True).first()
    return method in (None, SignInMethod.LOCAL)


def _over_limit(request, email: str) -> bool:
    """Count this request; True when the email or the client address asked too often."""
    conf = settings.HOMEFIRE
    counters = [
        (
            redis_keys.password_resets("email", email.strip().lower()),
            conf["PASSWORD_RESETS_PER_ACCOUNT"],
        )
    ]
    if address := client_address(request):
        counters.append(
            (redis_keys.password_resets("address", address), conf["PASSWORD_RESETS_PER_ADDRESS"])
        )
    try:
        pipe = client().pipeline()
        for key, _limit in counters:
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS, nx=True)
        answers = pipe.execute()
    except redis.RedisError:
        return False  # without Redis, resets still work
    over = [key for index, (key, limit) in enumerate(counters) if answers[2 * index] > limit]
    for key in over:
        logger.warning("Password resets paused for %s: too many asked", key)
    return bool(over)


class ResetRequestForm(PasswordResetForm):
    """Django's form, throttled, for local accounts only, each email sent audited."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_email(self):
        email = self.cleaned_data["email"]
        if _over_limit(self.request, email):
            raise forms.ValidationError(
                "Too many reset emails asked for this address or from here. "
                "Try again in an hour, or ask an admin.",
                code="throttled",
            )
        return email

    def get_users(self, email):
        return (user for user in super().get_users(email) if resets_by_password(user))

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)
        user = context["user"]
        audit.record(
            actor=None,
            action="password reset emailed",
            target=f"user {user.username}",
            reason=f"asked from {client_address(self.request) or 'unknown'}",
        )


class ResetPasswordForm(SetPasswordForm):
    """The new password from a reset link; the audit log notes it."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        audit.record(actor=user, action="password reset by email", target=f"user {user.username}")
        return user
