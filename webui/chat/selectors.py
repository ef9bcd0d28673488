"""Reads, always scoped to the user who asks: anyone else's object is a 404."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from webui.chat.models import Conversation, Message


def conversation_list(*, user) -> QuerySet[Conversation]:
    return Conversation.objects.filter(owner=user, source=Conversation.Source.CHAT).only(
        "id", "title", "updated_at"
    )


def conversation_get(*, user, id: int) -> Conversation:
    return get_object_or_404(Conversation.objects.select_related("model"), owner=user, pk=id)


def message_get(*, user, id: int) -> Message:
    return get_object_or_404(
        Message.objects.select_related("conversation"), conversation__owner=user, pk=id
    )


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.select_related("model").order_by("created_at", "id")


def active_messages(*, conversation_id: int) -> QuerySet[Message]:
    return Message.objects.filter(
        conversation_id=conversation_id, status__in=Message.ACTIVE_STATUSES
    ).order_by("id")
