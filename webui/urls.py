from django.contrib import admin
from django.urls import include, path

from webui.accounts import views as account_views
from webui.chat import audited_read, feedback_views
from webui.ops import health, metrics
from webui.team import urls as team_urls

team_pages = [
    *team_urls.urlpatterns,
    path("account/delete/", account_views.account_delete, name="account_delete"),
    path(
        "read/<int:conversation_id>/",
        audited_read.read_conversation,
        name="read_conversation",
    ),
    path("usage/feedback.csv", feedback_views.feedback_csv, name="feedback_csv"),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("webui.api.urls")),
    path("accounts/", include("webui.accounts.urls")),
    path("workers/", include("webui.registry.urls")),
    path("team/", include((team_pages, "team"))),
    path("documents/", include("webui.documents.urls")),
    path("", include("webui.chat.urls")),
]
