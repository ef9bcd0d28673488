from django.contrib import admin
from django.urls import include, path

from webui.core import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("webui.api.urls")),
    path("accounts/", include("webui.accounts.urls")),
    path("", include("webui.chat.urls")),
]
