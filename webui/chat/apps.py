from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "webui.chat"
    label = "chat"
    verbose_name = "Chat"
