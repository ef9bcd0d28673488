from django.apps import AppConfig


class TeamConfig(AppConfig):
    name = "webui.team"
    label = "team"
    verbose_name = "Team"

    def ready(self) -> None:
        from webui.team import audit, policy_cache, throttle

        audit.connect_signals()
        policy_cache.connect_signals()
        throttle.protect_admin_login()
