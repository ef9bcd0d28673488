"""What worker hosts ask the server for (worker tokens, not members' sessions)."""

from django.urls import path

from webui.registry import model_files

app_name = "workers"

urlpatterns = [
    path("models/<slug:slug>/file", model_files.model_file, name="model_file"),
]
