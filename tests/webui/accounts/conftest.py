"""Accounts tests: fast password hashing, clean throttle counters, codes from a secret."""

import pytest
from django_otp.oath import TOTP

from webui.core.redis import client as redis_client


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clean_counters():
    def clear():
        for pattern in ("homefire:login-failures:*", "homefire:password-resets:*"):
            for key in redis_client().scan_iter(pattern):
                redis_client().delete(key)

    clear()
    yield
    clear()


def code_for(device, steps_ahead: int = 0) -> str:
    """The code the member's authenticator app shows now (or a step or more ahead)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, drift=steps_ahead)
    return f"{totp.token():06d}"
