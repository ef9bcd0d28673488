"""Temporary chats: a conversation kept only while a tab shows it.

It is stored like any other while it is open (the worker reads its history from the
database, and a dropped socket must not lose it), but as its own source, so the sidebar,
search, export and sharing, which list only chat conversations, never see it. A tab that
leaves its page (closed, reloaded, or gone to another page) says so (`tab_left`, from the
page's `pagehide`), and a reloaded tab says so again at once: the chat is deleted (by
housekeeping within seconds, or at once on the reload), unless another tab still shows
it or an answer is still being written (then once it ends). Each socket open on it also
counts itself in `open_tabs`; when the last one closes without that word (a crash, a lost
network), `left_at` is set and housekeeping deletes it once the grace period has passed
(a reconnecting socket comes back before). Its answers are counted in token usage like
any other: usage records keep no text and outlive the messages.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from webui.chat.models import Conversation, Message

# A tab that stays open this long with nothing sent loses its temporary chat too: the
# count of open tabs cannot be trusted after a web process died without closing them.
IDLE_LIMIT = timedelta(days=1)


def _temporary(conversation_id: int):
    return Conversation.objects.filter(pk=conversation_id, source=Conversation.Source.TEMPORARY)


def tab_opened(conversation_id: int) -> None:
    """Count a socket opened on the temporary chat; it is no longer left."""
    _temporary(conversation_id).update(open_tabs=F("open_tabs") + 1, left_at=None)


def tab_closed(conversation_id: int) -> None:
    """Count a socket closed; the last one closing starts the grace period, unless its tab
    said it left first (tab_left, whose time stands: the chat goes within seconds).

    One UPDATE, whose conditions read the row as it was: two tabs closing at once cannot
    both miss being the last.
    """
    now = Value(timezone.now())
    _temporary(conversation_id).update(
        open_tabs=Case(When(open_tabs__gt=0, then=F("open_tabs") - 1), default=Value(0)),
        left_at=Case(When(open_tabs__lte=1, then=Coalesce("left_at", now)), default=F("left_at")),
    )


# The session keeps the ids of the temporary chats its tabs ended, so that coming back to
# one (a reload) says what happened instead of "not found".
ENDED_KEY = "temporary_ended"


def tab_left(conversation: Conversation, session, *, at_once: bool) -> None:
    """The tab showing this temporary chat left it. `at_once` (the tab came back to it, a
    reload): delete it now; otherwise (the page went away) housekeeping deletes it within
    seconds, so that a reload that reaches the server first still finds it and can say
    what happened. Either waits while another tab shows it or an answer is being written."""
    grace = timedelta(seconds=settings.HOMEFIRE["TEMPORARY_GRACE_SECONDS"])
    busy = conversation.messages.filter(status__in=Message.ACTIVE_STATUSES).exists()
    if at_once and conversation.open_tabs <= 1 and not busy:
        conversation.delete()
    else:
        _temporary(conversation.pk).filter(open_tabs__lte=1).update(left_at=timezone.now() - grace)
    session[ENDED_KEY] = [*session.get(ENDED_KEY, [])[-19:], conversation.pk]


def delete_left(now=None) -> int:
    """Delete the temporary chats left longer than the grace period (or idle a day);
    return how many. One with an answer still queued or streaming waits for the next
    run, so that the answer's usage is recorded when it ends."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.HOMEFIRE["TEMPORARY_GRACE_SECONDS"])
    busy = Message.objects.filter(status__in=Message.ACTIVE_STATUSES).values("conversation_id")
    left = (
        Conversation.objects.filter(source=Conversation.Source.TEMPORARY)
        .filter(Q(left_at__lt=now - grace) | Q(updated_at__lt=now - IDLE_LIMIT))
        .exclude(pk__in=busy)
    )
    _, deleted = left.delete()
    return deleted.get(Conversation._meta.label, 0)
