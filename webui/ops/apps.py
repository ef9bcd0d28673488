from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "webui.ops"
    label = "ops"
    verbose_name = "Homefire operations"
