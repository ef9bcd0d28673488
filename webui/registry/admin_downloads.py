"""Downloads of model files in admin: start one, watch its progress live, resume it."""

from pathlib import Path

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from webui.core.admin_lookups import ShownFieldsAdmin
from webui.registry import downloading
from webui.registry.forms import DownloadForm
from webui.registry.jobs import enqueue_download
from webui.registry.models import ModelDownload

State = ModelDownload.State


@admin.register(ModelDownload)
class ModelDownloadAdmin(ShownFieldsAdmin):
    form = DownloadForm
    list_display = ["filename", "state", "registered_as", "created_at"]
    list_filter = ["state"]
    actions = ["resume"]
    change_list_template = "admin/registry/modeldownload/change_list.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["url", "filename", "expected_sha256"]
        return ["url", "filename", "expected_sha256", "state", "progress", "error", "model"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            pk = obj.pk
            transaction.on_commit(lambda: enqueue_download(pk))

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request, f"Downloading {obj.filename}: its progress shows below.", messages.SUCCESS
        )
        return super().response_post_save_add(request, obj)

    def delete_model(self, request, obj) -> None:
        _forget_part(obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for download in queryset:
            _forget_part(download)
        super().delete_queryset(request, queryset)

    @admin.display(description="progress")
    def progress(self, obj: ModelDownload) -> str:
        return describe_progress(obj)

    @admin.display(description="model")
    def registered_as(self, obj: ModelDownload) -> str:
        if obj.model_id is None:
            return "-"
        url = reverse("admin:registry_llmmodel_change", args=[obj.model_id])
        return format_html('<a href="{}">{}</a>', url, obj.model.slug)

    @admin.action(description="Resume the selected downloads")
    def resume(self, request, queryset) -> None:
        resumed = [d for d in queryset if resume_download(d)]
        self.message_user(
            request,
            f"Resumed {len(resumed)} download(s): "
            + (", ".join(d.filename for d in resumed) or "none could be (done or running)"),
            messages.SUCCESS if resumed else messages.WARNING,
        )

    def get_urls(self):
        live = path(
            "progress/",
            self.admin_site.admin_view(self.progress_view),
            name="registry_modeldownload_progress",
        )
        return [live, *super().get_urls()]

    def progress_view(self, request):
        """The table of recent downloads, for htmx to swap in every 2 seconds."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {"downloads": recent_downloads()}
        return TemplateResponse(request, "admin/registry/modeldownload/progress.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "downloads": recent_downloads()}
        return super().changelist_view(request, extra_context)


def recent_downloads(limit: int = 20) -> list[dict]:
    return [
        {"download": d, "progress": describe_progress(d)}
        for d in ModelDownload.objects.select_related("model")[:limit]
    ]


def describe_progress(download: ModelDownload) -> str:
    done = filesizeformat(download.bytes_done)
    if download.bytes_total:
        return f"{done} of {filesizeformat(download.bytes_total)} ({download.percent}%)"
    return done


def is_stale(download: ModelDownload) -> bool:
    """Downloading, but no progress saved for a while: its worker is gone."""
    age = (timezone.now() - download.updated_at).total_seconds()
    return download.state == State.DOWNLOADING and age > downloading.STALE_SECONDS


def resume_download(download: ModelDownload) -> bool:
    """Queue a failed (or abandoned) download again; it continues from its .part file."""
    if download.state != State.FAILED and not is_stale(download):
        return False
    updated = ModelDownload.objects.filter(pk=download.pk, state=download.state).update(
        state=State.QUEUED, error="", updated_at=timezone.now()
    )
    if updated:
        pk = download.pk
        transaction.on_commit(lambda: enqueue_download(pk))
    return bool(updated)


def _forget_part(download: ModelDownload) -> None:
    """Delete what a download left behind, unless it is still running."""
    if download.state in (State.DOWNLOADING, State.VERIFYING) and not is_stale(download):
        return
    try:
        folder = Path(settings.HOMEFIRE["MODELS_DIR"])
        name = downloading.check_filename(download.filename)
        downloading.part_path(folder.resolve() / name).unlink(missing_ok=True)
    except (ValueError, OSError):
        pass
