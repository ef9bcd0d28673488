"""Retention: delete conversations with no activity for longer than the team keeps them."""

from datetime import timedelta

from django.utils import timezone

from webui.chat import streambuffer
from webui.chat.models import Conversation, Message
from webui.team.models import TeamSettings

# Workers run the purge on their own, at most once a day between them all: whoever sets
# this key first in a day does it.
DUE_KEY = "homefire:retention:last-run"
EVERY = timedelta(days=1)


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


def purge_when_due() -> int | None:
    """Purge if retention is set and no worker has purged in the last day; else None.

    Called from every worker's heartbeat, so deletion is automatic; the management
    command does the same at once, for cron or by hand.
    """
    if not TeamSettings.current().retention_days:
        return None
    seconds = int(EVERY.total_seconds())
    if not streambuffer.client().set(DUE_KEY, timezone.now().isoformat(), nx=True, ex=seconds):
        return None
    return purge_old_conversations()
