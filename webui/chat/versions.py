"""Versions and branches of a conversation's messages: which ones make up what it shows.

Messages form a tree. Each follows its `parent`; regenerating an answer or editing a
question adds a version beside the old one (same parent, `version_of` naming the first
version), and every later message follows the version it was written after. Of each
group of versions one is `shown`; the conversation is the path from the first message
through shown versions only. Older branches stay stored and come back when their version
is shown again.

A message with no parent and no `version_of` that is not the first one (stored before
versions existed, by the API or by an import) follows the message shown before it, so
such conversations read as they always did.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from webui.chat.models import Message
from webui.chat.version_info import SINGLE, VersionInfo, group_id, info_of


def effective_parents(messages: Iterable) -> dict[int, int | None]:
    """The parent each message follows, for messages in (created_at, id) order.

    Reads only pk, parent_id, version_of_id and shown, so it works on `.only()` rows.
    """
    parents: dict[int, int | None] = {}
    included: set[int] = set()
    last_included: int | None = None
    for m in messages:
        parent = m.parent_id
        if parent is None and m.version_of_id is None and last_included is not None:
            parent = last_included  # an unlinked message: it follows the one before
        parents[m.pk] = parent
        if m.shown and (parent is None or parent in included):
            included.add(m.pk)
            last_included = m.pk
    return parents


def shown_path(messages: list) -> list:
    """The messages the conversation shows, in order, each with its `versions` set."""
    parents = effective_parents(messages)
    groups: dict[int, list[int]] = {}
    for m in messages:
        groups.setdefault(group_id(m), []).append(m.pk)
    path, included = [], set()
    for m in messages:
        parent = parents[m.pk]
        if m.shown and (parent is None or parent in included):
            included.add(m.pk)
            m.versions = info_of(m.pk, sorted(groups[group_id(m)]))
            path.append(m)
    return path


def ancestors(message, messages: list) -> list:
    """The messages this one follows, oldest first (whatever versions are shown now)."""
    parents = effective_parents(messages)
    by_id = {m.pk: m for m in messages}
    chain, parent = [], parents.get(message.pk, message.parent_id)
    while parent is not None and parent in by_id and len(chain) <= len(messages):
        chain.append(by_id[parent])
        parent = parents[parent]
    return chain[::-1]


def descendants(message_id: int, parents: dict[int, int | None]) -> set[int]:
    """Every message that follows this one, directly or further down its branch."""
    children: dict[int | None, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [message_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def tree_rows(conversation_id: int) -> list:
    """Every message of a conversation, in order, with only what the tree needs."""
    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("created_at", "id")
        .only("id", "conversation_id", "role", "status", "parent_id", "version_of_id", "shown")
    )


@dataclass
class Row:
    """What shown_path reads of a message, without building a model instance."""

    pk: int
    parent_id: int | None
    version_of_id: int | None
    shown: bool
    versions: VersionInfo = SINGLE


def light_rows(conversation_id: int) -> list[Row]:
    """Every message of a conversation, in order, as rows of the four columns the shown
    path needs (no model instances: see docs/decisions/chat-light-rows.md)."""
    rows = (
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("created_at", "id")
        .values_list("id", "parent_id", "version_of_id", "shown")
    )
    return [Row(*row) for row in rows]


def path_end_id(conversation) -> int | None:
    """The last message the conversation shows: what a new message follows."""
    path = shown_path(light_rows(conversation.pk))
    return path[-1].pk if path else None
