from django.contrib.auth import views as auth_views
from django.urls import include, path

from webui.accounts import oidc_views, views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", oidc_views.logout, name="logout"),
    path("oidc/", include("webui.accounts.oidc_urls")),
    path("two-factor/", include("webui.accounts.two_factor_urls")),
    path("password/reset/", include("webui.accounts.password_reset_urls")),
    path("sessions/", include("webui.accounts.sessions_urls")),
    path("signup/", views.signup, name="signup"),
    path("invite/<str:token>/", views.signup, name="invite"),
    path("password/", views.password_change, name="password_change"),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
