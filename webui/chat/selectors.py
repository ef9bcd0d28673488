"""Reads, always scoped to the user who asks: anyone else's object is a 404."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from webui.chat import versions
from webui.chat.models import Conversation, Message

SIDEBAR_PAGE_SIZE = 50


@dataclass
class SidebarGroup:
    label: str
    conversations: list[Conversation] = field(default_factory=list)
    continued: bool = False  # its heading was shown at the end of the previous page


@dataclass
class SidebarPage:
    groups: list[SidebarGroup]
    archived: bool
    next_page: int | None


def conversation_list(*, user) -> QuerySet[Conversation]:
    return Conversation.objects.filter(owner=user, source=Conversation.Source.CHAT).only(
        "id", "title", "pinned", "archived", "updated_at"
    )


def _group_label(conversation: Conversation, today: date) -> str:
    if conversation.pinned:
        return "Pinned"
    age = (today - timezone.localdate(conversation.updated_at)).days
    if age <= 0:
        return "Today"
    if age == 1:
        return "Yesterday"
    if age <= 7:
        return "Previous 7 days"
    return "Older"


def conversation_sidebar(*, user, archived: bool = False, page: int = 1) -> SidebarPage:
    """One page of the sidebar: pinned first, then grouped by the day of last activity.

    Days are counted in the current time zone (settings.TIME_ZONE unless a view
    activated the user's own). One query per page, whatever its size.
    """
    page = max(page, 1)
    offset = (page - 1) * SIDEBAR_PAGE_SIZE
    # One row before the page tells whether its first group continues the previous page.
    start = max(offset - 1, 0)
    rows = list(
        conversation_list(user=user)
        .filter(archived=archived)
        .order_by("-pinned", "-updated_at", "-id")[start : offset + SIDEBAR_PAGE_SIZE + 1]
    )
    today = timezone.localdate()
    previous_label = _group_label(rows.pop(0), today) if offset and rows else None
    has_next = len(rows) > SIDEBAR_PAGE_SIZE
    groups: list[SidebarGroup] = []
    for conversation in rows[:SIDEBAR_PAGE_SIZE]:
        label = _group_label(conversation, today)
        if not groups or groups[-1].label != label:
            groups.append(SidebarGroup(label, continued=not groups and label == previous_label))
        groups[-1].conversations.append(conversation)
    return SidebarPage(groups, archived, page + 1 if has_next else None)


def conversation_get(*, user, id: int) -> Conversation:
    return get_object_or_404(Conversation.objects.select_related("model"), owner=user, pk=id)


def message_get(*, user, id: int) -> Message:
    return get_object_or_404(
        Message.objects.select_related("conversation"), conversation__owner=user, pk=id
    )


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    """The messages the conversation shows: the chosen version of each, with its versions."""
    return versions.shown_path(list(_ordered_messages().filter(conversation=conversation)))


def conversations_for_export(*, user, id: int | None = None) -> list[Conversation]:
    """The user's chat history, or one conversation of theirs, with messages: 2 queries."""
    conversations = (
        Conversation.objects.filter(owner=user)
        .select_related("model")
        .prefetch_related(Prefetch("messages", queryset=_ordered_messages()))
    )
    if id is not None:
        return [get_object_or_404(conversations, pk=id)]
    return list(conversations.filter(source=Conversation.Source.CHAT).order_by("created_at", "id"))


def _ordered_messages() -> QuerySet[Message]:
    return Message.objects.select_related("model").order_by("created_at", "id")


def active_messages(*, conversation_id: int) -> QuerySet[Message]:
    return Message.objects.filter(
        conversation_id=conversation_id, status__in=Message.ACTIVE_STATUSES
    ).order_by("id")
