from urllib.parse import urljoin

from django.contrib import admin, messages
from django.db.models import CharField, Value
from django.urls import reverse
from django.utils.html import format_html

from webui.core.admin_lookups import ShownFieldsAdmin
from webui.team import audit, signup
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


class TeamAdmin(ShownFieldsAdmin):
    """The team's policy pages: each change is logged, and audited, from what to what."""

    def construct_change_message(self, request, form, formsets, add=False):
        if add or formsets or not form.changed_data:
            return super().construct_change_message(request, form, formsets, add)
        return audit.change_text(form)


@admin.register(TeamSettings)
class TeamSettingsAdmin(TeamAdmin):
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
class MembershipAdmin(TeamAdmin):
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
class InvitationAdmin(TeamAdmin):
    list_display = ["__str__", "link", "state", "created_by", "created_at", "expires_at"]
    readonly_fields = ["link", "created_by", "created_at", "used_at", "used_by"]
    fields = ["note", "expires_at", "link", "created_by", "created_at", "used_at", "used_by"]

    class Media:
        js = ["js/admin_copy.js"]

    def get_queryset(self, request):
        # The display methods get no request: each row carries the site's address as this
        # admin reached it, for a link that works when pasted into a message.
        root = Value(request.build_absolute_uri("/"), output_field=CharField())
        return super().get_queryset(request).annotate(site_root=root)

    @admin.display(description="invitation link")
    def link(self, obj: Invitation) -> str:
        if not obj.pk:
            return "Shown once saved."
        url = urljoin(getattr(obj, "site_root", ""), reverse("invite", args=[obj.token]))
        return format_html(
            '<code data-invitation-link>{}</code> <button type="button" class="button" '
            'data-copy-text="{}" aria-label="Copy the invitation link">Copy</button>',
            url,
            url,
        )

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
class ModelAccessAdmin(TeamAdmin):
    list_display = ["model", "group"]
    list_filter = ["model", "group"]


@admin.register(Limit)
class LimitAdmin(TeamAdmin):
    list_display = ["__str__", "tokens_per_day", "max_active", "requests_per_minute"]
    autocomplete_fields = ["user"]


@admin.register(ReferencePrice)
class ReferencePriceAdmin(TeamAdmin):
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
