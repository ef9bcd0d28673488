from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("webui.accounts.urls")),
    path("", include("webui.chat.urls")),
]
