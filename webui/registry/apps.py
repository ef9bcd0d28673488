from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "webui.registry"
    label = "registry"
    verbose_name = "Models"
