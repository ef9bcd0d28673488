from django.urls import path

from webui.accounts import sessions_views

urlpatterns = [
    path("", sessions_views.session_list, name="sessions"),
    path("<int:record_id>/sign-out/", sessions_views.session_sign_out, name="session_sign_out"),
    path(
        "sign-out-others/", sessions_views.sessions_sign_out_others, name="sessions_sign_out_others"
    ),
]
