"""Worker tokens in admin: made with a name, shown once, revoked with an action."""

from django.contrib import admin, messages

from webui.core.admin_lookups import ShownFieldsAdmin
from webui.registry import worker_tokens
from webui.registry.models import WorkerToken


@admin.register(WorkerToken)
class WorkerTokenAdmin(ShownFieldsAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a token is made or revoked, never edited

    def save_model(self, request, obj, form, change) -> None:
        row, token = worker_tokens.issue(obj.name)
        obj.pk, obj.digest, obj.prefix = row.pk, row.digest, row.prefix
        messages.warning(
            request,
            f"The token for {row.name}, shown only now: {token} — give it to the worker "
            "host as HOMEFIRE_WORKER_TOKEN (docs/operations.md).",
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        for row in queryset:
            worker_tokens.revoke(row)
        messages.success(request, f"Revoked {queryset.count()} token(s).")
