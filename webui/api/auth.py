"""The one place an API credential becomes a user."""

import hmac
from datetime import timedelta

from django.utils import timezone

from webui.api.models import KEY_PREFIX, ApiKey, hash_key

LAST_USED_RESOLUTION = timedelta(minutes=1)


def user_for_key(raw: str | None):
    """Return the active owner of a usable key, or None for anything else."""
    if not raw:
        return None
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = ApiKey.objects.select_related("user").filter(prefix=parts[1]).first()
    if key is None or not hmac.compare_digest(key.hashed, hash_key(raw)):
        return None
    if not key.is_usable or not key.user.is_active:
        return None
    now = timezone.now()
    # "Last used" to the minute: a write on every request would cost each one a commit.
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.user


def bearer_token(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None
