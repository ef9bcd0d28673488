from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "webui.core"
    label = "core"
    verbose_name = "Homefire"

    def ready(self) -> None:
        from webui.core import checks  # noqa: F401  (registers the system checks)
