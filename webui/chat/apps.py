from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import connections, transaction
from django.db.models.signals import post_delete, post_migrate, post_save

from webui.registry import signals


def _close_sockets_of_session(sender, request, user, **kwargs) -> None:
    """Logging out closes the WebSockets that this browser session opened."""
    from webui.chat import broadcast, events

    if request is not None and request.session.session_key:
        broadcast.to_group(
            events.session_group(request.session.session_key), events.session_closed()
        )


def _check_sockets_of(user_id: int, using: str | None) -> None:
    """Once committed, every open socket of this account checks that its session still
    signs it in (a changed password, a deactivated, deleted or pending account: no)."""
    from webui.chat import broadcast, events

    def send() -> None:
        # Not waited for: a save must not fail with Redis away (sessions still end for HTTP).
        broadcast.to_group(events.user_group(user_id), events.account_changed(), wait=False)

    transaction.on_commit(send, using=using)


def _user_saved(sender, instance, update_fields=None, using=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a log-in revokes nothing
    _check_sockets_of(instance.pk, using)


def _user_deleted(sender, instance, using=None, **kwargs) -> None:
    _check_sockets_of(instance.pk, using)


def _membership_saved(sender, instance, using=None, **kwargs) -> None:
    _check_sockets_of(instance.user_id, using)


def _forget_stream_buffer(sender, instance, using, origin=None, **kwargs) -> None:
    """A deleted message's streamed text leaves Redis after the commit (its worker stops)."""
    from webui.chat import streambuffer

    active = instance.status in sender.ACTIVE_STATUSES
    streambuffer.forget_when_deleted(instance.pk, active=active, deletion=origin, using=using)


def _install_search_index(sender, using, **kwargs) -> None:
    """Put back search triggers that a table rebuild in a later migration dropped."""
    from webui.chat import search_index

    search_index.install(connections[using])


def _fail_answers_of_disabled_model(sender, model, **kwargs) -> list[int]:
    """An admin disabled a model: its answers still waiting end now, saying why."""
    from webui.chat import answers
    from webui.chat.models import Message

    reason = (
        f"{model.name} was disabled by an admin before this answer started. "
        "Pick another model and send the message again."
    )
    waiting = Message.objects.filter(model=model, status=Message.Status.QUEUED)
    return answers.fail_queued(waiting, reason)


class ChatConfig(AppConfig):
    name = "webui.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from webui.team.models import Membership

        user_logged_out.connect(_close_sockets_of_session, dispatch_uid="chat.close_sockets")
        user = get_user_model()
        post_save.connect(_user_saved, sender=user, dispatch_uid="chat.sockets_user_saved")
        post_delete.connect(_user_deleted, sender=user, dispatch_uid="chat.sockets_user_deleted")
        post_save.connect(
            _membership_saved, sender=Membership, dispatch_uid="chat.sockets_membership_saved"
        )
        post_migrate.connect(_install_search_index, sender=self, dispatch_uid="chat.search_index")
        post_delete.connect(
            _forget_stream_buffer,
            sender=self.get_model("Message"),
            dispatch_uid="chat.forget_stream_buffer",
        )
        signals.model_disabled.connect(
            _fail_answers_of_disabled_model, dispatch_uid="chat.fail_answers_of_disabled_model"
        )
