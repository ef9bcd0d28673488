"""Worker tokens: made once, stored as a digest, checked on every model-file request."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from webui.registry.models import WorkerToken

PREFIX = "hfw_"
# last_used_at is written at most this often: a long download asks many times.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(name: str) -> tuple[WorkerToken, str]:
    """A new token for `name`: the row, and the token itself (shown once, never stored)."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = WorkerToken.objects.create(name=name, digest=_digest(token), prefix=token[:12])
    return row, token


def from_header(header: str) -> WorkerToken | None:
    """The live token named by an `Authorization: Bearer hfw_…` header, or None."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(PREFIX) or len(token) > 200:
        return None
    digest = _digest(token)
    row = WorkerToken.objects.filter(digest=digest, revoked_at__isnull=True).first()
    if row is None or not hmac.compare_digest(row.digest, digest):
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        WorkerToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row


def revoke(row: WorkerToken) -> None:
    WorkerToken.objects.filter(pk=row.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
