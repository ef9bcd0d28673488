"""Accounts' own records: the sessions a member has open, shown on the Sessions page."""

from django.conf import settings
from django.db import models


class SessionRecord(models.Model):
    """One signed-in session: where and on what it was opened, when it was last seen.

    The session itself lives in Django's session store; this row lets a member see it and
    end it ("sign out everywhere else"), which also closes its WebSockets.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_records"
    )
    session_key = models.CharField(max_length=64, unique=True)
    user_agent = models.CharField(max_length=300, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    sign_in_method = models.CharField(max_length=8, default="local")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.user} from {self.address or 'unknown'}"
