"""Retention: delete conversations with no activity for longer than the team keeps them.

The housekeeping process runs the purge every hour (webui.chat.tasks); the management
command `purge_old_conversations` does the same at once, by hand.
"""

from datetime import timedelta

from django.utils import timezone

from webui.chat.models import Conversation, Message
from webui.team.models import TeamSettings


def purge_old_conversations(days: int | None = None) -> int:
    """Delete conversations (chat and API) untouched for `days` days; return how many.

    `days` defaults to the team setting; None or 0 keeps everything. A conversation with
    an answer still queued or streaming is left for the next run.
    """
    days = days if days is not None else TeamSettings.current().retention_days
    if not days:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    busy = Message.objects.filter(status__in=Message.ACTIVE_STATUSES).values("conversation_id")
    old = Conversation.objects.filter(updated_at__lt=cutoff).exclude(pk__in=busy)
    count = old.count()
    old.delete()
    return count
