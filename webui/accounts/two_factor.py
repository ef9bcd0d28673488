"""Two-factor sign-in: setting up an authenticator app (TOTP), recovery codes, codes checked.

A code is checked through the log-in throttle (webui.team.throttle) under a name of its
own per account, so that the right password, which clears the account's count, does not
also clear the count of wrong codes. An authenticator code works once (django-otp keeps
the last time step used); a recovery code is deleted when used.
"""

import base64
import time

import segno
from django import forms
from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from webui.team import audit
from webui.team.throttle import password_check

RECOVERY_CODES = 10
# How long the password step waits for its code before the member starts again.
PENDING_SECONDS = 300
_PENDING = "two_factor_pending"
AUTHENTICATOR = "authenticator code"
RECOVERY = "recovery code"


def _throttle_name(user) -> str:
    # A colon cannot be part of a Django username, so this never counts a real account.
    return f"second-factor:{user.get_username()}"


def _normalized(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _match(user, code: str, *, unconfirmed: TOTPDevice | None = None):
    """The device that accepts this code (and has now used it up), or None."""
    authenticator = len(code) == 6 and code.isdigit()  # recovery codes have 8 characters
    if unconfirmed is not None:
        if not authenticator:
            return None  # setting up takes the authenticator's code, not a recovery code
        devices = TOTPDevice.objects.filter(pk=unconfirmed.pk, user=user)
    elif authenticator:
        devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    else:
        devices = StaticDevice.objects.filter(user=user, confirmed=True)
    with transaction.atomic():
        for device in devices.select_for_update():
            if device.verify_token(code):
                return device
    return None


def check_code(user, code: str, address: str, *, unconfirmed: TOTPDevice | None = None):
    """The device whose code this is; raise ValidationError when wrong or throttled."""
    code = _normalized(code)
    if not code or len(code) > 16:
        raise forms.ValidationError("Enter the 6-digit code or a recovery code.")
    with password_check(_throttle_name(user), address):
        device = _match(user, code, unconfirmed=unconfirmed)
        if device is None:
            raise forms.ValidationError("That code is not right, or it was used already.")
    return device


def kind_of(device) -> str:
    return RECOVERY if isinstance(device, StaticDevice) else AUTHENTICATOR


def pending_device(user) -> TOTPDevice:
    """The authenticator being set up: the same secret on every reload until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def qr_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an SVG QR code in a data: URL (the page's CSP lets
    images come from data:, and an image's SVG runs nothing)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


def secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@transaction.atomic
def enrolment_confirm(*, user, device: TOTPDevice) -> list[str]:
    """The code matched: the authenticator counts, with new recovery codes (returned)."""
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_replace(user=user)
    audit.record(actor=user, action="two-factor turned on", target=f"user {user.username}")
    return codes


def recovery_codes_replace(*, user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def two_factor_remove(*, user, actor) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit.record(actor=actor, action="two-factor turned off", target=f"user {user.username}")


def hold(request, user, next_url: str) -> None:
    """The password was right; the session waits for the code before it signs in."""
    request.session[_PENDING] = {
        "user": user.pk,
        "backend": user.backend,
        "at": time.time(),
        "next": next_url,
    }


def held(request) -> tuple[object, str, str] | None:
    """(user, backend, next URL) waiting for a code in this session, or None."""
    pending = request.session.get(_PENDING)
    if not isinstance(pending, dict):
        return None
    if not 0 <= time.time() - pending.get("at", 0) < PENDING_SECONDS:
        request.session.pop(_PENDING, None)
        return None
    user = get_user_model().objects.filter(pk=pending.get("user"), is_active=True).first()
    if user is None:
        return None
    return user, pending["backend"], pending["next"]


def release(request) -> None:
    request.session.pop(_PENDING, None)
