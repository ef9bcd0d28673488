"""Deleting an account with all its data: conversations, messages, keys, usage."""

from django.db import transaction

from webui.chat import services
from webui.chat.models import Message
from webui.team import audit


def delete_account(user) -> None:
    """Stop the user's answers in progress, then delete the user and everything theirs.

    Conversations, messages, API keys, usage records and membership go with the user
    (their foreign keys cascade). The audit log keeps only that the account was deleted.
    """
    for answer in Message.objects.filter(
        conversation__owner=user, status__in=Message.ACTIVE_STATUSES
    ):
        services.message_stop(message=answer)
    with transaction.atomic():
        audit.record(actor=None, action="account deleted by its owner", target=f"user {user.pk}")
        user.delete()
