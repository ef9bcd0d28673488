from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from webui.chat.audited_read import may_read
from webui.chat.models import AnswerFeedback, Conversation, Message, SavedPrompt
from webui.core.admin_lookups import ShownFieldsAdmin
from webui.team import audit


class MembersWordsAdmin(ShownFieldsAdmin):
    """Conversations and messages: members' words are looked into only as the audited read
    allows (HOMEFIRE_ADMIN_CAN_READ and "view message"), each look in the audit log."""

    def content_readable(self, request) -> bool:
        return may_read(request.user)

    def audit_content(self, request, what: str) -> None:
        audit.record(
            actor=request.user,
            action="admin: searched members' words",
            target=f"{self.model._meta.verbose_name_plural}: {what}",
        )


@admin.register(Conversation)
class ConversationAdmin(MembersWordsAdmin):
    list_display = ["label", "owner", "model", "source", "updated_at"]
    list_filter = ["model", "source"]
    search_fields = ["owner__username"]
    # Members' words are theirs: admins see who talks to which model, not what is said
    # (titles are made from the first message, so they stay hidden too). With
    # HOMEFIRE_ADMIN_CAN_READ=true, "read" asks for a reason and writes it to the audit
    # log before it shows the messages (webui/team/views.py).
    fields = ["label", "owner", "model", "source", "created_at", "updated_at", "read"]
    readonly_fields = fields
    content_fields = ("title", "system_prompt", "messages__content", "messages__error")

    @admin.display(description="conversation", ordering="pk")
    def label(self, obj: Conversation) -> str:
        return f"Conversation {obj.pk}"

    @admin.display(description="messages")
    def read(self, obj: Conversation) -> str:
        if not settings.HOMEFIRE["ADMIN_CAN_READ"]:
            return "Not shown: members' conversations are private (HOMEFIRE_ADMIN_CAN_READ)."
        url = reverse("team:read_conversation", args=[obj.pk])
        return format_html('<a href="{}">Read (asks for a reason; audited)</a>', url)

    def has_add_permission(self, request):
        return False

    def view_on_site(self, obj: Conversation) -> str | None:
        """The audited read view: the conversation's own page is its owner's alone (a 404
        for anyone else). None (no button) while admins may not read conversations."""
        if not settings.HOMEFIRE["ADMIN_CAN_READ"]:
            return None
        return reverse("team:read_conversation", args=[obj.pk])


@admin.register(Message)
class MessageAdmin(MembersWordsAdmin):
    list_display = ["id", "role", "status", "model", "worker", "completion_tokens", "created_at"]
    list_filter = ["status", "role", "model"]
    fields = [
        "conversation_id",
        "role",
        "status",
        "error",
        "model",
        "worker",
        "prompt_tokens",
        "completion_tokens",
        "ttft_ms",
        "tokens_per_second",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields
    content_fields = ("content", "error", "conversation__title", "conversation__system_prompt")

    def has_add_permission(self, request):
        return False


@admin.register(AnswerFeedback)
class AnswerFeedbackAdmin(ShownFieldsAdmin):
    """Members' 👍/👎, read-only, with the per-model summary of what the filters select
    (templates/admin/chat/answerfeedback/change_list.html). The comments were written for
    the admins (the form says so); the answers themselves stay private."""

    list_display = ["updated_at", "rating", "model", "owner", "comment"]
    list_filter = ["rating", "model", "updated_at"]
    list_select_related = ["model", "owner"]
    date_hierarchy = "updated_at"
    fields = [
        "message_id",
        "owner",
        "rating",
        "comment",
        "model",
        "sampling",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SavedPrompt)
class SavedPromptAdmin(ShownFieldsAdmin):
    """Members' saved prompts, read-only: whose, shared with which groups and how long.
    Their words stay private, as in conversations; staff may delete one (a prompt shared
    with a group that should not be)."""

    list_display = ["label", "owner", "shared_with", "characters", "updated_at"]
    list_select_related = ["owner"]
    fields = ["label", "owner", "groups", "characters", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description="saved prompt", ordering="pk")
    def label(self, obj: SavedPrompt) -> str:
        return str(obj)

    @admin.display(description="shared with")
    def shared_with(self, obj: SavedPrompt) -> str:
        return ", ".join(g.name for g in obj.groups.all()) or "nobody"

    @admin.display(description="characters")
    def characters(self, obj: SavedPrompt) -> int:
        return len(obj.text)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
