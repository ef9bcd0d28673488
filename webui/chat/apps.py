from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out


def _close_sockets_of_session(sender, request, user, **kwargs) -> None:
    """Logging out closes the WebSockets that this browser session opened."""
    from webui.chat import broadcast, events

    if request is not None and request.session.session_key:
        broadcast.to_group(
            events.session_group(request.session.session_key), events.session_closed()
        )


class ChatConfig(AppConfig):
    name = "webui.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        user_logged_out.connect(_close_sockets_of_session, dispatch_uid="chat.close_sockets")
