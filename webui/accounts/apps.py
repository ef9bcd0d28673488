from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "webui.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from webui.accounts import sessions

        user_logged_in.connect(sessions.record_sign_in, dispatch_uid="accounts.sessions_in")
        user_logged_out.connect(sessions.forget_sign_out, dispatch_uid="accounts.sessions_out")
