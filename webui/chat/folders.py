"""A member's folders in the sidebar: create, rename, delete, collapse, and filing
conversations in them. Every read and write is scoped to the folder's owner: anyone
else's folder or conversation is a 404, as with conversations (webui.chat.selectors)."""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404

from webui.chat.models import Conversation, Folder

# The conversations a folder shows in the sidebar at once; the rest are a link away.
FOLDER_SHOWN = 20
# A folder's own page lists this many at most (search finds the rest).
FOLDER_PAGE_MAX = 1000


class FolderRejected(ValueError):
    """The folder cannot be made or named so; the text says why, in words for the user."""


@dataclass
class FolderView:
    folder: Folder
    conversations: list[Conversation] = field(default_factory=list)
    more: bool = False  # it holds more than the sidebar shows


def folder_get(*, user, id) -> Folder:
    return get_object_or_404(Folder, owner=user, pk=_whole(id))


def folder_list(*, user) -> list[Folder]:
    return list(Folder.objects.filter(owner=user).only("id", "name", "collapsed"))


def folders_with_conversations(*, user) -> list[FolderView]:
    """The member's folders with the first conversations of each (not archived), pinned
    first, then by last activity: two queries, however many folders."""
    folders = folder_list(user=user)
    if not folders:
        return []
    views = {f.pk: FolderView(f) for f in folders}
    ranked = (
        Conversation.objects.filter(
            owner=user,
            source=Conversation.Source.CHAT,
            archived=False,
            folder__isnull=False,
        )
        .only("id", "title", "pinned", "updated_at", "folder")
        .annotate(
            place=Window(
                RowNumber(),
                partition_by=[F("folder_id")],
                order_by=[F("pinned").desc(), F("updated_at").desc(), F("id").desc()],
            )
        )
        .filter(place__lte=FOLDER_SHOWN + 1)
        .order_by("folder_id", "place")
    )
    for conversation in ranked:
        view = views[conversation.folder_id]
        if conversation.place > FOLDER_SHOWN:
            view.more = True
        else:
            view.conversations.append(conversation)
    return list(views.values())


def folder_conversations(*, folder: Folder) -> list[Conversation]:
    """The folder's conversations that are not archived, as the sidebar orders them."""
    return list(
        folder.conversations.filter(source=Conversation.Source.CHAT, archived=False)
        .only("id", "title", "pinned", "updated_at", "folder")
        .order_by("-pinned", "-updated_at", "-id")[:FOLDER_PAGE_MAX]
    )


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise FolderRejected("Give the folder a name.")
    if len(name) > Folder.NAME_MAX:
        raise FolderRejected(
            f"This name is {len(name)} characters long; the limit is {Folder.NAME_MAX}."
        )
    return name


def _whole(value) -> int:
    """An id from a form: a whole number, else 0 (which matches no row: a 404)."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else 0


@transaction.atomic
def folder_create(*, owner, name: str) -> Folder:
    """Make a folder, within the member's limit and with a name not yet theirs."""
    name = _clean_name(name)
    # Counted under a lock on the member's row: two tabs cannot both make the 101st.
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    if Folder.objects.filter(owner=owner).count() >= Folder.PER_MEMBER:
        raise FolderRejected(f"You have {Folder.PER_MEMBER} folders, the most one may have.")
    return _saved(Folder(owner=owner, name=name))


def folder_rename(*, folder: Folder, name: str) -> Folder:
    folder.name = _clean_name(name)
    return _saved(folder, update_fields=["name"])


def _saved(folder: Folder, **options) -> Folder:
    try:
        with transaction.atomic():
            folder.save(**options)
    except IntegrityError:
        raise FolderRejected(f"You already have a folder named “{folder.name}”.") from None
    return folder


def folder_delete(*, folder: Folder) -> None:
    """Delete a folder; its conversations stay, unfiled."""
    folder.delete()


def folder_collapse(*, folder: Folder, collapsed: bool) -> None:
    Folder.objects.filter(pk=folder.pk).update(collapsed=collapsed)


def conversation_file(*, user, conversation_id, folder_id) -> Conversation:
    """File one of the member's conversations in one of their folders (no folder id:
    take it out of its folder), without touching its time of last activity."""
    conversation = get_object_or_404(
        Conversation, owner=user, source=Conversation.Source.CHAT, pk=_whole(conversation_id)
    )
    folder = folder_get(user=user, id=folder_id) if folder_id else None
    Conversation.objects.filter(pk=conversation.pk).update(folder=folder)
    conversation.folder = folder
    return conversation
