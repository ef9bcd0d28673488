"""How much a member may upload: per file, and all their documents together.

The two limits are team settings (admin); their first values come from
HOMEFIRE_DOCUMENT_MAX_MB and HOMEFIRE_DOCUMENT_QUOTA_MB.
"""

from django.db.models import Sum

from webui.documents.errors import DocumentRefused
from webui.documents.models import Document
from webui.documents.storage import too_large_text
from webui.team.models import TeamSettings

MB = 1024 * 1024


def max_file_bytes() -> int:
    return TeamSettings.current().document_max_mb * MB


def quota_bytes() -> int:
    return TeamSettings.current().document_quota_mb * MB


def used_bytes(user) -> int:
    return Document.objects.filter(owner=user).aggregate(total=Sum("size"))["total"] or 0


def room_bytes(user) -> int:
    """Bytes this member may still upload before their quota is full."""
    return max(0, quota_bytes() - used_bytes(user))


def check_size(user, size: int) -> None:
    """Refuse a file of `size` bytes that is too large, or that would pass the quota."""
    limit = max_file_bytes()
    if size > limit:
        raise DocumentRefused(too_large_text(limit))
    if size > room_bytes(user):
        raise DocumentRefused(quota_text())


def quota_text() -> str:
    quota = TeamSettings.current().document_quota_mb
    return (
        f"Your documents would take more than your {quota} MB. "
        "Delete some files first, or ask an admin for more room."
    )
