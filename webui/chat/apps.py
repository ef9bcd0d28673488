from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out
from django.db import connections
from django.db.models.signals import post_migrate

from webui.registry import signals


def _close_sockets_of_session(sender, request, user, **kwargs) -> None:
    """Logging out closes the WebSockets that this browser session opened."""
    from webui.chat import broadcast, events

    if request is not None and request.session.session_key:
        broadcast.to_group(
            events.session_group(request.session.session_key), events.session_closed()
        )


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
        user_logged_out.connect(_close_sockets_of_session, dispatch_uid="chat.close_sockets")
        post_migrate.connect(_install_search_index, sender=self, dispatch_uid="chat.search_index")
        signals.model_disabled.connect(
            _fail_answers_of_disabled_model, dispatch_uid="chat.fail_answers_of_disabled_model"
        )
