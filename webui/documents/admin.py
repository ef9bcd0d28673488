"""Documents and collections in admin: facts for running the team, never the text.

Staff see whose files there are, how large, and how their indexing went (status, stage,
the reason of a failure), so they can help a member or free room; a file's text and the
file itself stay its owner's (webui.documents.access gives staff no extra reading
rights). They may index a file again, or delete it (its file and passages go with it).
"""

from django.contrib import admin, messages
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from webui.core.admin_lookups import ShownFieldsAdmin
from webui.documents import services
from webui.documents.models import Collection, Document


class _FactsOnly(ShownFieldsAdmin):
    # Members' words: never looked up through the admin's URL filters or search.
    content_fields = ("passages__text", "documents__passages__text")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Document)
class DocumentAdmin(_FactsOnly):
    list_display = ["name", "owner", "kind", "shown_size", "status", "progress", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "owner__username"]
    fields = [
        "name",
        "owner",
        "kind",
        "shown_size",
        "status",
        "stage",
        "progress",
        "error",
        "note",
        "where",
        "embedding_model",
        "whole",
        "text_tokens",
        "sha256",
        "created_at",
        "indexed_at",
    ]
    readonly_fields = fields
    actions = ["index_again"]

    @admin.display(description="size", ordering="size")
    def shown_size(self, obj: Document) -> str:
        return filesizeformat(obj.size)

    @admin.display(description="passages embedded")
    def progress(self, obj: Document) -> str:
        return f"{obj.done}/{obj.total}" if obj.total else "–"

    @admin.display(description="in")
    def where(self, obj: Document) -> str:
        if obj.collection_id:
            return f"collection {obj.collection}"
        if obj.conversation_id:
            return f"conversation {obj.conversation_id}"
        return "–"

    @admin.action(description="Index the selected documents again", permissions=["view"])
    def index_again(self, request, queryset):
        count = 0
        with transaction.atomic():
            for document in queryset.exclude(status=Document.Status.INDEXING):
                services.reindex_document(document)
                count += 1
        self.message_user(request, f"Sent {count} document(s) to be indexed again.", messages.INFO)


@admin.register(Collection)
class CollectionAdmin(_FactsOnly):
    list_display = ["name", "owner", "shared_with", "files", "updated_at"]
    search_fields = ["name", "owner__username"]
    fields = ["name", "owner", "description", "shared_with", "files", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description="shared with")
    def shared_with(self, obj: Collection) -> str:
        return ", ".join(group.name for group in obj.groups.all()) or "nobody (private)"

    @admin.display(description="files")
    def files(self, obj: Collection) -> int:
        return obj.documents.count()
