from django.contrib import admin
from django.urls import include, path

from webui.core import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("webui.api.urls")),
    path("accounts/", include("webui.accounts.urls")),
    path("team/", include("webui.team.urls")),
    path("", include("webui.chat.urls")),
]
