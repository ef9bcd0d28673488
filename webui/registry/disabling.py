"""What happens to waiting answers when an admin disables their model."""

from django.utils import timezone


def fail_queued_answers(model) -> list[int]:
    """End every answer still queued for model as failed, saying why; return their ids."""
    from webui.chat import broadcast
    from webui.chat.models import Message

    reason = (
        f"{model.name} was disabled by an admin before this answer started. "
        "Pick another model and send the message again."
    )
    failed = []
    for message in Message.objects.filter(model=model, status=Message.Status.QUEUED):
        updated = Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).update(
            status=Message.Status.FAILED, error=reason, finished_at=timezone.now()
        )
        if updated:
            broadcast.message_changed(message)
            failed.append(message.pk)
    return failed
