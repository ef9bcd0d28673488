from django.urls import path

from webui.team import views

app_name = "team"
urlpatterns = [
    path("pending/", views.pending, name="pending"),
    path("my-usage/", views.my_usage, name="my_usage"),
    path("usage/", views.team_usage, name="usage"),
    path("usage.csv", views.team_usage_csv, name="usage_csv"),
    path("account/delete/", views.account_delete, name="account_delete"),
    path("read/<int:conversation_id>/", views.read_conversation, name="read_conversation"),
]
