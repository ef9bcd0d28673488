"""Sharing a conversation read-only with the team, by a link that can be revoked."""

import secrets

from django.shortcuts import get_object_or_404

from webui.chat import versions
from webui.chat.models import Conversation, Message


def conversation_share(*, conversation: Conversation) -> str:
    """Give the conversation a link token (keeping the one it has), and return it."""
    if not conversation.share_token:
        conversation.share_token = secrets.token_urlsafe(32)
        Conversation.objects.filter(pk=conversation.pk).update(share_token=conversation.share_token)
    return conversation.share_token


def conversation_unshare(*, conversation: Conversation) -> None:
    """Revoke the link: whoever follows it from now on gets a 404."""
    conversation.share_token = None
    Conversation.objects.filter(pk=conversation.pk).update(share_token=None)


def shared_conversation_get(*, token: str) -> Conversation:
    """The conversation shared under this token, for any logged-in member; else a 404."""
    return get_object_or_404(
        Conversation.objects.select_related("model").only(
            "id", "title", "share_token", "created_at", "updated_at", "model__name"
        ),
        share_token=token,
        source=Conversation.Source.CHAT,
    )


def shared_messages(*, conversation: Conversation) -> list[Message]:
    """What a reader sees: the versions the owner shows now, with their text, who wrote
    them and how they ended; nothing else (no other versions, no other branches)."""
    rows = (
        Message.objects.filter(conversation=conversation)
        .select_related("model")
        .only(
            "id",
            "role",
            "content",
            "status",
            "finish_reason",
            "created_at",
            "model__name",
            "parent_id",
            "version_of_id",
            "shown",
        )
        .order_by("created_at", "id")
    )
    return [m for m in versions.shown_path(list(rows)) if m.role != Message.Role.SYSTEM]
