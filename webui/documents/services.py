"""Writing documents and collections: each checks the owner, the limits and the content.

`add_document` returns at once, with the document `indexing`; the documents queue reads
and embeds it (webui.documents.tasks). Deleting a document deletes its passages, their
vectors and its citations (foreign keys) and, after commit, its file (signals).
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from webui.documents import access, indexing, limits, storage
from webui.documents.errors import DocumentRefused
from webui.documents.models import Collection, Document
from webui.documents.names import clean_name
from webui.documents.sniffing import sniff
from webui.documents.tasks import send_index


def add_document(owner, uploaded_file, *, conversation=None, collection=None) -> Document:
    """Store a file for `owner` (in their conversation, or their collection) and send it
    to be indexed. Raises DocumentRefused for a file over the limits or of a kind
    Homefire does not read, before anything is kept."""
    if conversation is not None and conversation.owner_id != owner.pk:
        raise DocumentRefused("This conversation is not yours.")
    if collection is not None and collection.owner_id != owner.pk:
        raise DocumentRefused("Only the collection's owner adds files to it.")
    name = clean_name(getattr(uploaded_file, "name", None))
    declared = getattr(uploaded_file, "size", None)
    if declared is not None:
        limits.check_size(owner, declared)
    largest, room = limits.max_file_bytes(), limits.room_bytes(owner)
    refusal = storage.too_large_text(largest) if largest <= room else limits.quota_text()
    stored_as, size, sha256 = storage.save(
        uploaded_file.chunks(), max_bytes=min(largest, room), refusal=refusal
    )
    try:
        kind = sniff(storage.path_of(stored_as), name)
        with transaction.atomic():
            # One upload at a time per member from here: the quota holds for parallel ones.
            get_user_model().objects.select_for_update().filter(pk=owner.pk).exists()
            limits.check_size(owner, size)
            document = Document.objects.create(
                owner=owner,
                conversation=conversation,
                collection=collection,
                name=name,
                stored_as=stored_as,
                size=size,
                sha256=sha256,
                kind=kind,
            )
    except BaseException:
        storage.remove(stored_as)
        raise
    # Robust: with no broker right now, the periodic catch-up sends it later.
    transaction.on_commit(lambda: send_index(document.pk), robust=True)
    return document


def delete_document(owner, document_id) -> bool:
    """Delete one of the owner's documents with its passages and file; False if none."""
    document = access.owned_document(owner, document_id)
    if document is None:
        return False
    document.delete()
    return True


def reindex_document(document: Document) -> None:
    """Read a document again from its file and embed it anew."""
    indexing.restart(document)
    transaction.on_commit(lambda: send_index(document.pk), robust=True)


def create_collection(owner, name: str, *, description: str = "") -> Collection:
    """A new private collection; DocumentRefused when the owner has one of that name."""
    name = _collection_name(name)
    try:
        with transaction.atomic():
            return Collection.objects.create(
                owner=owner, name=name, description=description.strip()[:500]
            )
    except IntegrityError as exc:
        raise DocumentRefused(f"You already have a collection named “{name}”.") from exc


def rename_collection(owner, collection_id, name: str, *, description: str | None = None):
    """Rename one of the owner's collections; None when it is not theirs."""
    collection = access.owned_collection(owner, collection_id)
    if collection is None:
        return None
    collection.name = _collection_name(name)
    if description is not None:
        collection.description = description.strip()[:500]
    try:
        with transaction.atomic():
            collection.save()
    except IntegrityError as exc:
        raise DocumentRefused(f"You already have a collection named “{collection.name}”.") from exc
    return collection


def delete_collection(owner, collection_id) -> bool:
    """Delete one of the owner's collections with its files; False if none."""
    collection = access.owned_collection(owner, collection_id)
    if collection is None:
        return False
    collection.delete()
    return True


def share_collection(owner, collection_id, groups) -> Collection | None:
    """Share the owner's collection with exactly these groups (none: private again).

    Only the owner shares, and only with groups they belong to themselves (staff with
    any group): a member cannot hand their files to a group they are not in by mistake.
    """
    collection = access.owned_collection(owner, collection_id)
    if collection is None:
        return None
    groups = list(groups)
    if not (owner.is_staff or owner.is_superuser):
        mine = set(owner.groups.values_list("pk", flat=True))
        if any(group.pk not in mine for group in groups):
            raise DocumentRefused("You can share a collection only with groups you are in.")
    collection.groups.set(groups)
    return collection


def _collection_name(name: str) -> str:
    name = " ".join(str(name or "").split())[:100]
    if not name:
        raise DocumentRefused("A collection needs a name.")
    return name
