"""Log-in throttling against guessing, by account and by address, kept in Redis.

Failures are counted for a window (15 minutes by default) that starts at the first
failure and then expires on its own, so the real user is never locked out for long.
While an account or address is over the limit, even the right password is refused.
"""

import contextlib
import math

import redis
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from webui.core.redis import client
from webui.core.redis import keys as redis_keys


def _key(kind: str, value: str) -> str:
    return redis_keys.login_failures(kind, value)


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    conf = settings.HOMEFIRE
    keys = [(_key("address", address), conf["LOGIN_FAILURES_PER_ADDRESS"])] if address else []
    if username:
        keys.append((_key("account", username.strip().lower()), conf["LOGIN_FAILURES_PER_ACCOUNT"]))
    return keys


def address_of(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "") if request is not None else ""


def blocked_for(username: str, address: str) -> int:
    """Seconds until this account and address may try again; 0 when they may now."""
    try:
        pipe = client().pipeline()
        keys = _keys(username, address)
        for key, _limit in keys:
            pipe.get(key)
            pipe.ttl(key)
        answers = pipe.execute()
    except redis.RedisError:
        return 0  # without Redis, logging in still works
    wait = 0
    for index, (_key_name, limit) in enumerate(keys):
        count, ttl = answers[2 * index], answers[2 * index + 1]
        if count is not None and int(count) >= limit:
            wait = max(wait, ttl if ttl and ttl > 0 else 1)
    return wait


def record_failure(username: str, address: str) -> None:
    window = settings.HOMEFIRE["LOGIN_THROTTLE_SECONDS"]
    try:
        pipe = client().pipeline()
        for key, _limit in _keys(username, address):
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
        pipe.execute()
    except redis.RedisError:
        pass


def clear_account(username: str) -> None:
    with contextlib.suppress(redis.RedisError):
        client().delete(_key("account", username.strip().lower()))


def wait_text(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    unit = "minute" if minutes == 1 else "minutes"
    return (
        "Too many failed log-ins for this account or from this address. "
        f"Try again in {minutes} {unit}."
    )


class ThrottledLoginMixin:
    """For any AuthenticationForm: refuse while throttled, count failures, clear on success."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = address_of(self.request)
        if wait := blocked_for(username, address):
            raise forms.ValidationError(wait_text(wait), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            record_failure(username, address)
            raise
        clear_account(username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


def protect_admin_login() -> None:
    """The admin's log-in form counts and refuses the same way."""
    from django.contrib import admin
    from django.contrib.admin.forms import AdminAuthenticationForm

    class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
        pass

    admin.site.login_form = ThrottledAdminAuthenticationForm
