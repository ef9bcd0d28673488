from django.urls import path

from webui.team import views

# Mounted under the "team" namespace by webui/urls.py, with the team pages that live in
# the apps above this one (deleting an account, an audited read of a conversation).
urlpatterns = [
    path("pending/", views.pending, name="pending"),
    path("my-usage/", views.my_usage, name="my_usage"),
    path("usage/", views.team_usage, name="usage"),
    path("usage.csv", views.team_usage_csv, name="usage_csv"),
]
