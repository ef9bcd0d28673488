import time

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from webui.core.admin_lookups import ShownFieldsAdmin
from webui.registry import control, signals
from webui.registry.admin_downloads import ModelDownloadAdmin  # noqa: F401  (registers it)
from webui.registry.admin_tokens import WorkerTokenAdmin  # noqa: F401  (registers it)
from webui.registry.forms import UploadForm
from webui.registry.gguf_info import cpu_batching_text
from webui.registry.models import LLMModel, Worker
from webui.registry.presence import host_memory_total, live_workers, workers_for
from webui.registry.scanning import scan_models_dir
from webui.registry.uploading import UploadRefused, store_upload

FILE_FACTS = ["architecture", "parameter_count", "quantization", "context_length", "file_size"]
# Shown on a model's page only: too long for the list.
FILE_NOTES = ["cpu_batching"]


@admin.register(LLMModel)
class LLMModelAdmin(ShownFieldsAdmin):
    list_display = [
        "name",
        "slug",
        "role",
        "enabled",
        "is_default",
        "context_size",
        "gpu_layers",
        *FILE_FACTS,
        "workers",
    ]
    list_editable = ["enabled"]
    list_filter = ["role", "enabled"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = [*FILE_FACTS, *FILE_NOTES, "memory_fit", "checksum"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "slug",
                    "role",
                    "path",
                    "context_size",
                    "gpu_layers",
                    "parallel",
                    "kv_cache_tokens",
                    "max_tokens",
                    "enabled",
                    "is_default",
                ]
            },
        ),
        (
            "Sampling: defaults and what users may choose",
            {"fields": ["temperature", "temperature_max", "top_p", "max_tokens_limit"]},
        ),
        (
            "Loading (used by the worker the next time it loads the model)",
            {"fields": ["kv_cache_type", "flash_attention", "chat_template"]},
        ),
        ("What the file says", {"fields": [*FILE_FACTS, *FILE_NOTES, "checksum", "memory_fit"]}),
    ]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and "enabled" in form.changed_data and not obj.enabled:
            replies = signals.model_disabled.send(sender=LLMModel, model=obj)
            failed = [pk for _, ended in replies for pk in ended or []]
            if failed:
                self.message_user(
                    request,
                    f"{obj.name} is disabled: {len(failed)} waiting answer(s) ended as failed.",
                    messages.WARNING,
                )

    @admin.display(description="SHA-256")
    def checksum(self, obj: LLMModel) -> str:
        if obj.sha256:
            return obj.sha256
        return "being computed in the background (by a worker serving the downloads queue)"

    @admin.display(description="live workers")
    def workers(self, obj: LLMModel) -> int:
        return len(workers_for(obj.slug))

    @admin.display(description="parameters", ordering="parameters")
    def parameter_count(self, obj: LLMModel) -> str:
        return _millions(obj.parameters)

    @admin.display(description="file size", ordering="size_bytes")
    def file_size(self, obj: LLMModel) -> str:
        return "-" if obj.size_bytes is None else filesizeformat(obj.size_bytes)

    @admin.display(description="batched on a CPU")
    def cpu_batching(self, obj: LLMModel) -> str:
        unbatched = [kind for kind in obj.cpu_unbatched_types.split(",") if kind]
        return cpu_batching_text(obj.cpu_batched_share, unbatched)

    @admin.display(description="memory needed")
    def memory_fit(self, obj: LLMModel) -> str:
        estimate = obj.memory_estimate
        if estimate is None:
            return "-"
        if obj.kv_cache_tokens:
            shape = f"{obj.kv_tokens} tokens shared by {obj.parallel} slots"
        else:
            shape = f"{obj.parallel} × {obj.context_size} tokens"
        text = (
            f"about {filesizeformat(estimate)}: file {filesizeformat(obj.size_bytes)} + f16 KV "
            f"cache {filesizeformat(estimate - obj.size_bytes)} ({shape})"
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
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name="registry_llmmodel_upload",
        )
        return [scan, upload, *super().get_urls()]

    def upload_view(self, request):
        """Upload a small GGUF file into the models folder and register it, disabled."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                model = store_upload(form.cleaned_data["file"], form.cleaned_data["filename"])
            except UploadRefused as exc:
                form.add_error("file", str(exc))
            else:
                self.message_user(
                    request,
                    f"Uploaded {model.name} as {model.slug}, disabled until you enable it.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:registry_llmmodel_change", args=[model.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a model file",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/registry/llmmodel/upload.html", context)

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


# What a worker does with the model it holds, in words for the workers page.
_SERVES = {
    LLMModel.Role.CHAT: "chat answers",
    LLMModel.Role.EMBEDDING: "embeddings",
}


def _millions(count: int | None) -> str:
    if count is None:
        return "-"
    return f"{count / 1e9:.1f}B" if count >= 1e9 else f"{count / 1e6:.0f}M"


def _fit_warning(model: LLMModel, worker) -> str:
    """Why model would not fit on worker, or "" when it fits or nothing is known."""
    estimate = model.memory_estimate
    if estimate is None or not worker.memory_total or estimate <= worker.memory_total:
        return ""
    return (
        f"{model.name} needs about {filesizeformat(estimate)}; {worker.name} has "
        f"{filesizeformat(worker.memory_total)}: it will not fit."
    )


def _memory_limits(slug: str) -> list[tuple[str, int | None]]:
    """Memory of each live worker serving slug; this machine's RAM when none reports any."""
    limits = [(w.name, w.memory_total) for w in workers_for(slug) if w.memory_total]
    return limits or [("this machine's RAM", host_memory_total())]


@admin.register(Worker)
class WorkerAdmin(ShownFieldsAdmin):
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
        order = path(
            "control/",
            self.admin_site.admin_view(self.control_view),
            name="registry_worker_control",
        )
        return [page, order]

    def can_control(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("registry.change_llmmodel")

    def control_view(self, request):
        """Send an order to one live worker: assign a model, drain, resume or restart."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.can_control(request):
            raise PermissionDenied
        name, action = request.POST.get("worker", ""), request.POST.get("action", "")
        slug = request.POST.get("model", "")
        workers = {w.name: w for w in live_workers()}
        back = HttpResponseRedirect(reverse("admin:registry_worker_changelist"))
        if name not in workers:
            self.message_user(request, f"No live worker called {name!r}.", messages.ERROR)
            return back
        if action not in control.ACTIONS:
            self.message_user(request, f"Unknown action {action!r}.", messages.ERROR)
            return back
        if action == "assign":
            model = LLMModel.objects.filter(slug=slug, enabled=True).first()
            if model is None:
                self.message_user(request, f"No enabled model {slug!r}.", messages.ERROR)
                return back
            warning = _fit_warning(model, workers[name])
            if warning:
                self.message_user(request, warning, messages.WARNING)
        control.send(name, action, slug if action == "assign" else "")
        signals.worker_ordered.send(
            sender=LLMModel, actor=request.user, worker=name, action=action, model=slug
        )
        described = {
            "assign": f"load {slug}",
            "drain": "finish its answers and take no new ones",
            "resume": "take new answers again",
            "restart": "reload its model with the current settings",
        }[action]
        self.message_user(request, f"Asked {name} to {described}.", messages.SUCCESS)
        return back

    def workers_view(self, request):
        now = time.time()
        models = list(LLMModel.objects.filter(enabled=True))
        roles = dict(LLMModel.objects.values_list("slug", "role"))
        rows = [
            {
                "beat": worker,
                "serves": _SERVES.get(roles.get(worker.model), "-"),
                "active": len(worker.active_messages),
                "seen_ago": max(0.0, now - worker.seen),
                "choices": [
                    {
                        "slug": model.slug,
                        "name": model.name,
                        "warning": _fit_warning(model, worker),
                    }
                    for model in models
                    if model.slug != worker.model
                ],
                "pending": control.pending(worker.name),
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
            "can_control": self.can_control(request),
        }
        return TemplateResponse(request, template, context)
