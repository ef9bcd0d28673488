"""Signing in with the OpenID Connect provider (the pages answer 404 while it is not set up)."""

from django.urls import path

from webui.accounts import oidc_views

urlpatterns = [
    path("login/", oidc_views.login, name="oidc_login"),
    path("callback/", oidc_views.callback, name="oidc_callback"),
]
