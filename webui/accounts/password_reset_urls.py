from django.urls import path

from webui.accounts import password_reset_views

urlpatterns = [
    path("", password_reset_views.reset_request, name="password_reset"),
    path("sent/", password_reset_views.reset_done, name="password_reset_done"),
    path("<uidb64>/<token>/", password_reset_views.reset_confirm, name="password_reset_confirm"),
    path("done/", password_reset_views.reset_complete, name="password_reset_complete"),
]
