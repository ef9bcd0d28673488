from django.contrib import admin

from webui.chat.models import Conversation, Message


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "model", "updated_at"]
    list_filter = ["model"]
    search_fields = ["title", "owner__username"]
    # Members' words are theirs: admins see who talks to which model, not what is said.
    fields = ["title", "owner", "model", "created_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "role", "status", "model", "worker", "completion_tokens", "created_at"]
    list_filter = ["status", "role", "model"]
    fields = [
        "conversation", "role", "status", "error", "model", "worker", "prompt_tokens",
        "completion_tokens", "ttft_ms", "tokens_per_second", "created_at", "finished_at",
    ]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False
