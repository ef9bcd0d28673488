from django.contrib import admin

from webui.api.models import ApiKey
from webui.core.admin_lookups import ShownFieldsAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(ShownFieldsAdmin):
    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "prefix", "hashed", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False
