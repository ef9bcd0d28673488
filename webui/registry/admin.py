from django.contrib import admin

from webui.registry.models import LLMModel
from webui.registry.presence import workers_for


@admin.register(LLMModel)
class LLMModelAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "enabled",
        "is_default",
        "context_size",
        "gpu_layers",
        "workers",
    ]
    list_editable = ["enabled"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description="live workers")
    def workers(self, obj: LLMModel) -> int:
        return len(workers_for(obj.slug))
