"""Files and collections in a conversation: attaching, removing, linking, unlinking.

A file attached in the composer belongs to the conversation and its owner
(webui.documents.services stores it and indexes it in the background). A conversation
not started yet has no id: the first file or collection chosen on the new-conversation
page starts it, empty, titled after what was chosen, and the page moves to it.
"""

from dataclasses import dataclass, field

from django.db import transaction

from webui.chat.models import Conversation
from webui.chat.services import title_from
from webui.documents import access
from webui.documents import services as document_services
from webui.documents.errors import DocumentRefused
from webui.documents.models import Collection, ConversationCollection, Document
from webui.documents.uploads import MAX_FILES


@dataclass
class Attached:
    documents: list[Document] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "name: why", for the owner


def conversation_open(*, owner, title: str, model) -> Conversation:
    """Start an empty conversation, for files or collections chosen before any message."""
    return Conversation.objects.create(owner=owner, title=title_from(title), model=model)


def files_attach(*, conversation: Conversation, files: list) -> Attached:
    """Store each file for the conversation and queue its indexing; say why any was refused."""
    attached = Attached()
    if len(files) > MAX_FILES:
        attached.refused.append(f"Attach at most {MAX_FILES} files at once.")
        return attached
    for upload in files:
        try:
            attached.documents.append(
                document_services.add_document(
                    conversation.owner, upload, conversation=conversation
                )
            )
        except DocumentRefused as exc:
            attached.refused.append(f"{shown_name(upload)}: {exc.message}")
    return attached


def shown_name(upload) -> str:
    """The upload's name without any path, as the store keeps it."""
    name = str(getattr(upload, "name", "") or "file")
    return name.replace("\\", "/").rsplit("/", 1)[-1][:255] or "file"


def file_remove(*, conversation: Conversation, document_id: int) -> bool:
    """Delete a file attached to this conversation (its passages and stored file go too)."""
    document = access.owned_document(conversation.owner, document_id)
    if document is None or document.conversation_id != conversation.pk:
        return False
    document_services.delete_document(conversation.owner, document.pk)
    return True


def panel(conversation: Conversation, refused=()) -> dict:
    """What the panel above the composer shows (templates/chat/_attachments.html)."""
    documents = conversation_documents(conversation)
    return {
        "conversation": conversation,
        "documents": documents,
        "collections": conversation_collections(conversation),
        "refused": list(refused),
        "indexing": any(d.status == Document.Status.INDEXING for d in documents),
    }


def conversation_documents(conversation: Conversation) -> list[Document]:
    """The files attached to the conversation, in the order they came."""
    return list(
        Document.objects.filter(conversation=conversation, owner_id=conversation.owner_id)
        .order_by("created_at", "pk")
        .defer("sha256", "stored_as")
    )


def conversation_collections(conversation: Conversation) -> list[Collection]:
    """The collections the conversation uses that its owner may still read."""
    linked = ConversationCollection.objects.filter(conversation=conversation).values(
        "collection_id"
    )
    return list(
        access.visible_collections(conversation.owner)
        .filter(pk__in=linked)
        .select_related("owner")
        .order_by("name")
    )


@transaction.atomic
def collection_link(*, conversation: Conversation, collection_id) -> Collection | None:
    """Let the conversation's questions search this collection; None if the owner may not."""
    collection = access.usable_collection(conversation.owner, collection_id)
    if collection is not None:
        ConversationCollection.objects.get_or_create(
            conversation=conversation, collection=collection
        )
    return collection


def collection_unlink(*, conversation: Conversation, collection_id) -> None:
    """Stop searching this collection in the conversation's next questions."""
    try:
        collection_id = int(collection_id)
    except (TypeError, ValueError):
        return
    ConversationCollection.objects.filter(
        conversation=conversation, collection_id=collection_id
    ).delete()
