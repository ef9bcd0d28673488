"""Who may read which documents: the one place that says so.

A member reads their own files (attached to their conversations or in their
collections) and the files of collections shared with one of their groups. Only the
owner changes a file or a collection. Staff get no extra reading rights here: the
team's documents are as private as its conversations (admin shows facts, not text).

Every query for documents, passages or collections on behalf of a user starts from
these functions, so the chat, the API, search and the viewer cannot disagree.
"""

from django.db.models import Q, QuerySet

from webui.documents.models import Collection, Document, Passage


def visible_collections(user) -> QuerySet[Collection]:
    """The collections this user may read: their own, and those shared with their groups."""
    if not _signed_in(user):
        return Collection.objects.none()
    shared = Collection.objects.filter(groups__in=user.groups.all()).values("pk")
    return Collection.objects.filter(Q(owner=user) | Q(pk__in=shared))


def visible_documents(user) -> QuerySet[Document]:
    """The documents this user may read: their own, and those of collections they see."""
    if not _signed_in(user):
        return Document.objects.none()
    readable = visible_collections(user).values("pk")
    return Document.objects.filter(Q(owner=user) | Q(collection__in=readable))


def visible_passages(user) -> QuerySet[Passage]:
    """The passages of the documents this user may read."""
    return Passage.objects.filter(document__in=visible_documents(user).values("pk"))


def usable_collection(user, collection_id) -> Collection | None:
    """The collection if this user may ask it (own or shared with them), else None."""
    return _one(visible_collections(user), collection_id)


def readable_document(user, document_id) -> Document | None:
    """The document if this user may read it, else None."""
    return _one(visible_documents(user), document_id)


def owned_collection(user, collection_id) -> Collection | None:
    """The collection if this user owns it (only the owner renames, shares, deletes)."""
    if not _signed_in(user):
        return None
    return _one(Collection.objects.filter(owner=user), collection_id)


def owned_document(user, document_id) -> Document | None:
    """The document if this user owns it (only the owner deletes it)."""
    if not _signed_in(user):
        return None
    return _one(Document.objects.filter(owner=user), document_id)


def _signed_in(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _one(queryset: QuerySet, pk):
    try:
        return queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None
