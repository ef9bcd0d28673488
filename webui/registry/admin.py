import time

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from webui.registry.models import LLMModel, Worker
from webui.registry.presence import host_memory_total, live_workers, workers_for
from webui.registry.scanning import scan_models_dir

FILE_FACTS = ["architecture", "parameter_count", "quantization", "context_length", "file_size"]


@admin.register(LLMModel)
class LLMModelAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "enabled",
        "is_default",
        "context_size",
        "gpu_layers",
        *FILE_FACTS,
        "workers",
    ]
    list_editable = ["enabled"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = [*FILE_FACTS, "memory_fit"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "slug",
                    "path",
                    "context_size",
                    "gpu_layers",
                    "parallel",
                    "max_tokens",
                    "enabled",
                    "is_default",
                ]
            },
        ),
        ("What the file says", {"fields": [*FILE_FACTS, "memory_fit"]}),
    ]

    @admin.display(description="live workers")
    def workers(self, obj: LLMModel) -> int:
        return len(workers_for(obj.slug))

    @admin.display(description="parameters", ordering="parameters")
    def parameter_count(self, obj: LLMModel) -> str:
        return _millions(obj.parameters)

    @admin.display(description="file size", ordering="size_bytes")
    def file_size(self, obj: LLMModel) -> str:
        return "-" if obj.size_bytes is None else filesizeformat(obj.size_bytes)

    @admin.display(description="memory needed")
    def memory_fit(self, obj: LLMModel) -> str:
        estimate = obj.memory_estimate
        if estimate is None:
            return "-"
        text = (
            f"about {filesizeformat(estimate)}: file {filesizeformat(obj.size_bytes)} + f16 KV "
            f"cache {filesizeformat(estimate - obj.size_bytes)} "
            f"({obj.parallel} × {obj.context_size} tokens)"
        )
        too_small = [
            f"{name} has {filesizeformat(total)}"
            for name, total in _memory_limits(obj.slug)
            if total is not None and estimate > total
        ]
        if too_small:
            return format_html(
                '{}<br><strong class="errornote">Does not fit: {}</strong>',
                text,
                "; ".join(too_small),
            )
        return text

    def get_urls(self):
        scan = path(
            "scan/",
            self.admin_site.admin_view(self.scan_view),
            name="registry_llmmodel_scan",
        )
        return [scan, *super().get_urls()]

    def scan_view(self, request):
        """Register new files from the models folder, as `manage.py scan_models` does."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        result = scan_models_dir()
        self.message_user(
            request,
            f"Registered {len(result.registered)} new model(s), disabled until you enable them: "
            + (", ".join(model.slug for model in result.registered) or "none"),
            messages.SUCCESS,
        )
        for _file, reason in result.skipped:
            self.message_user(request, f"Skipped {reason}", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:registry_llmmodel_changelist"))


def _millions(count: int | None) -> str:
    if count is None:
        return "-"
    return f"{count / 1e9:.1f}B" if count >= 1e9 else f"{count / 1e6:.0f}M"


def _memory_limits(slug: str) -> list[tuple[str, int | None]]:
    """Memory of each live worker serving slug; this machine's RAM when none reports any."""
    limits = [(w.name, w.memory_total) for w in workers_for(slug) if w.memory_total]
    return limits or [("this machine's RAM", host_memory_total())]


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """The live workers, from their heartbeats: a page, not a table."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        page = path(
            "", self.admin_site.admin_view(self.workers_view), name="registry_worker_changelist"
        )
        return [page]

    def workers_view(self, request):
        now = time.time()
        rows = [
            {
                "beat": worker,
                "active": len(worker.active_messages),
                "seen_ago": max(0.0, now - worker.seen),
            }
            for worker in live_workers()
        ]
        template = "admin/registry/workers.html"
        if request.htmx:
            template += "#workers"
        context = {
            **self.admin_site.each_context(request),
            "title": "Workers",
            "opts": self.model._meta,
            "workers": rows,
        }
        return TemplateResponse(request, template, context)
