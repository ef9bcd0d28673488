from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from webui.core.admin_lookups import ShownFieldsAdmin
from webui.team import signup
from webui.team.models import (
    AuditEvent,
    Invitation,
    Limit,
    Membership,
    ModelAccess,
    ReferencePrice,
    TeamSettings,
    UsageRecord,
)


@admin.register(TeamSettings)
class TeamSettingsAdmin(ShownFieldsAdmin):
    list_display = ["__str__", "signup_policy", "retention_days"]

    def has_add_permission(self, request):
        return not TeamSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not TeamSettings.objects.exists():
            TeamSettings.current().save()  # the one row, there to be edited
        return super().changelist_view(request, extra_context)


@admin.register(Membership)
class MembershipAdmin(ShownFieldsAdmin):
    list_display = ["user", "status", "created_at", "approved_at", "approved_by"]
    list_filter = ["status"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "created_at", "approved_at", "approved_by"]
    fields = ["user", "status", "created_at", "approved_at", "approved_by"]
    actions = ["approve"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Approve the selected accounts", permissions=["change"])
    def approve(self, request, queryset):
        pending = list(queryset.filter(status=Membership.Status.PENDING))
        count = signup.approve(queryset, request.user)
        for membership in pending:
            self.log_change(request, membership, "Approved the account.")
        self.message_user(request, f"Approved {count} account(s).", messages.SUCCESS)


@admin.register(Invitation)
class InvitationAdmin(ShownFieldsAdmin):
    list_display = ["__str__", "link", "state", "created_by", "created_at", "expires_at"]
    readonly_fields = ["link", "created_by", "created_at", "used_at", "used_by"]
    fields = ["note", "expires_at", "link", "created_by", "created_at", "used_at", "used_by"]

    @admin.display(description="invitation link")
    def link(self, obj: Invitation) -> str:
        if not obj.pk:
            return "Shown once saved."
        return format_html("<code>{}</code>", reverse("invite", args=[obj.token]))

    @admin.display(description="state")
    def state(self, obj: Invitation) -> str:
        if obj.used_at:
            return f"used by {obj.used_by or 'a deleted account'}"
        return "open" if obj.is_usable else "expired"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ModelAccess)
class ModelAccessAdmin(ShownFieldsAdmin):
    list_display = ["model", "group"]
    list_filter = ["model", "group"]


@admin.register(Limit)
class LimitAdmin(ShownFieldsAdmin):
    list_display = ["__str__", "tokens_per_day", "max_active", "requests_per_minute"]
    autocomplete_fields = ["user"]


@admin.register(ReferencePrice)
class ReferencePriceAdmin(ShownFieldsAdmin):
    list_display = ["name", "input_per_million", "output_per_million", "currency"]


@admin.register(UsageRecord)
class UsageRecordAdmin(ShownFieldsAdmin):
    list_display = [
        "day",
        "user",
        "model_name",
        "via",
        "prompt_tokens",
        "completion_tokens",
        "gpu_seconds",
    ]
    list_filter = ["day", "via", "model"]
    search_fields = ["user__username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ShownFieldsAdmin):
    list_display = ["at", "actor_name", "action", "target", "reason"]
    list_filter = ["action"]
    search_fields = ["actor_name", "target", "reason"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
