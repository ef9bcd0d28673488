"""API keys: several per user, named, optionally expiring, stored only as a hash."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

KEY_PREFIX = "hf"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Shown to tell keys apart.")
    hashed = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({KEY_PREFIX}_{self.prefix}…)"

    @classmethod
    def issue(cls, *, user, name: str, expires_at=None) -> tuple["ApiKey", str]:
        """Create a key; return it with its one and only plain-text copy."""
        prefix = secrets.token_hex(4)
        raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            user=user, name=name, prefix=prefix, hashed=hash_key(raw), expires_at=expires_at
        )
        return key, raw

    @property
    def is_usable(self) -> bool:
        expired = self.expires_at is not None and self.expires_at <= timezone.now()
        return self.revoked_at is None and not expired


class ApiResponse(models.Model):
    """A stored /v1/responses answer: what GET /v1/responses/{id} and a later request's
    `previous_response_id` find (OpenAI's `store`). Its messages live in an API
    conversation like any API answer's; `settings` holds what the response object repeats
    (instructions, metadata, sampling as asked)."""

    answer = models.OneToOneField(
        "chat.Message", on_delete=models.CASCADE, primary_key=True, related_name="api_response"
    )
    previous = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    settings = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "API response"

    def __str__(self) -> str:
        return f"Response {self.pk}"

    @property
    def public_id(self) -> str:
        return f"resp_{self.pk}"
