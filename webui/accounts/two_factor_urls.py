from django.urls import path

from webui.accounts import two_factor_views

urlpatterns = [
    path("", two_factor_views.setup, name="two_factor"),
    path("code/", two_factor_views.code, name="two_factor_code"),
    path("recovery-codes/", two_factor_views.recovery_codes, name="two_factor_recovery_codes"),
    path("off/", two_factor_views.turn_off, name="two_factor_off"),
]
