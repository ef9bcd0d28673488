"""Export conversations as Markdown or JSON, and import that JSON back for its importer."""

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from webui.chat import versions
from webui.chat.models import Conversation, Message
from webui.chat.transfer_checks import (
    FORMAT,
    MESSAGE_FIGURES,
    MESSAGE_FLOATS,
    MESSAGE_TEXT,
    MESSAGE_TIMES,
    VERSION,
    CheckedConversation,
    ImportRejected,
    checked_conversations,
)

__all__ = ["ImportInterrupted", "ImportRejected", "conversations_import", "export_json"]

logger = logging.getLogger(__name__)

# One write transaction of an import holds at most this many rows, or characters
# (the search index's triggers cost by the character): about 0.1 s on SQLite.
BATCH_ROWS = 100
BATCH_CHARS = 500_000
# SQLite has one writer at a time, and a writer that finds it busy sleeps up to 100 ms
# between tries (sqlite3_busy_timeout): back-to-back transactions would keep it out. So
# after each WRITE_SLICE of writing, an import pauses longer than that sleep.
WRITE_SLICE = 0.1
SQLITE_PAUSE = 0.11
# A hidden import older than this was cut short (its process died): none runs this long.
ABANDONED_AFTER = timedelta(days=1)


class ImportInterrupted(Exception):
    """The database failed part-way through an import; nothing of it was kept."""


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _message_data(message: Message) -> dict:
    data = {name: getattr(message, name) for name in MESSAGE_TEXT + MESSAGE_FIGURES}
    data |= {name: getattr(message, name) for name in MESSAGE_FLOATS}
    data |= {name: _time(getattr(message, name)) for name in MESSAGE_TIMES}
    data["model"] = message.model.slug if message.model else None
    data["sampling"] = message.sampling
    return data


def _messages_data(messages: list[Message]) -> list[dict]:
    """Each message, with its place among versions: `parent` and `version_of` give the
    position of an earlier message in the list (see webui.chat.versions)."""
    position = {m.pk: i for i, m in enumerate(messages)}
    return [
        _message_data(m)
        | {
            "parent": position.get(m.parent_id),
            "version_of": position.get(m.version_of_id),
            "shown": m.shown,
        }
        for m in messages
    ]


def export_json(conversations: list[Conversation]) -> str:
    """Everything needed to rebuild these conversations, as one JSON document."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "conversations": [
            {
                "title": c.title,
                "model": c.model.slug if c.model else None,
                "pinned": c.pinned,
                "archived": c.archived,
                "created_at": _time(c.created_at),
                "updated_at": _time(c.updated_at),
                "messages": _messages_data(list(c.messages.all())),
            }
            for c in conversations
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def export_markdown(conversations: list[Conversation]) -> str:
    """A readable transcript: a heading per conversation and per message."""
    parts = []
    for conversation in conversations:
        parts.append(f"# {conversation.title}\n")
        for message in versions.shown_path(list(conversation.messages.all())):
            who = {"user": "You", "system": "System"}.get(message.role)
            who = who or (message.model.name if message.model else "Assistant")
            note = "" if message.status == Message.Status.DONE else f" ({message.status})"
            parts.append(f"## {who}{note}\n\n{message.content.strip()}\n")
            if message.error:
                parts.append(f"> {message.error}\n")
    return "\n".join(parts)


class _Turns:
    """Lets other writers in between an import's transactions, where SQLite needs it."""

    def __init__(self):
        self.since = time.monotonic()

    def take(self) -> None:
        """Pause if this import has written for a slice since its last pause."""
        if connection.vendor == "sqlite" and time.monotonic() - self.since >= WRITE_SLICE:
            time.sleep(SQLITE_PAUSE)
            self.since = time.monotonic()


@dataclass
class _Row:
    """A message to write, with its parent and first version as places among all rows."""

    conversation: Conversation
    fields: dict
    shown: bool
    parent: int | None
    version_of: int | None


def _rows(checked: list[CheckedConversation], conversations: list[Conversation]) -> list[_Row]:
    rows: list[_Row] = []
    for conversation, item in zip(conversations, checked, strict=True):
        start = len(rows)
        for fields, link in zip(item.messages, item.links, strict=True):
            places = [
                None if link[n] is None else start + link[n] for n in ("parent", "version_of")
            ]
            rows.append(_Row(conversation, fields, link["shown"], *places))
    return rows


def _chars(row: _Row) -> int:
    return len(row.fields["content"]) + len(row.fields["error"])


def _batches(items: list, chars: Callable[[Any], int] = lambda item: 0) -> Iterator[range]:
    """Places of the items, in runs small enough for one short transaction."""
    start, count = 0, 0
    for index, item in enumerate(items):
        count += chars(item)
        if index + 1 - start >= BATCH_ROWS or count >= BATCH_CHARS:
            yield range(start, index + 1)
            start, count = index + 1, 0
    if start < len(items):
        yield range(start, len(items))


def _updates(model, names: list[str], rows: list, values: list[list]) -> tuple[str, list]:
    """An UPDATE of these fields by id, and its parameters for each row, to run with
    executemany. (bulk_update builds a CASE expression of every row for each field: for a
    batch, slower than the insert itself.)"""
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    # Names from the model, values as parameters.
    sql = f"UPDATE {table} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608
    params = [
        [f.get_db_prep_save(v, connection) for f, v in zip(fields, row_values, strict=True)]
        + [row.pk]
        for row, row_values in zip(rows, values, strict=True)
    ]
    return sql, params


def _write(owner, checked: list[CheckedConversation], written: list, turns: _Turns) -> None:
    """Write the conversations, hidden, then their messages, a batch at a time."""
    for batch in _batches(checked):
        hidden = [
            Conversation(owner=owner, source=Conversation.Source.IMPORT, **checked[i].fields)
            for i in batch
        ]
        turns.take()
        Conversation.objects.bulk_create(hidden)
        written += hidden
    rows = _rows(checked, written)
    messages: list[Message] = []
    for batch in _batches(rows, _chars):
        added = [
            Message(
                conversation=rows[i].conversation,
                shown=rows[i].shown,
                **{k: v for k, v in rows[i].fields.items() if k != "created_at"},
            )
            for i in batch
        ]
        turns.take()
        with transaction.atomic():
            Message.objects.bulk_create(added)
            messages += added
            # auto_now_add stamped the import time: put the exported times back, and link
            # each message to earlier ones, now that they all have ids.
            values = [
                [
                    rows[i].fields["created_at"] or message.created_at,
                    None if rows[i].parent is None else messages[rows[i].parent].pk,
                    None if rows[i].version_of is None else messages[rows[i].version_of].pk,
                ]
                for i, message in zip(batch, added, strict=True)
            ]
            sql, params = _updates(Message, ["created_at", "parent", "version_of"], added, values)
            with connection.cursor() as cursor:
                cursor.executemany(sql, params)


def _show(written: list[Conversation], checked: list[CheckedConversation]) -> None:
    """Show every conversation of the import at once, with its exported times."""
    for conversation, item in zip(written, checked, strict=True):
        conversation.source = Conversation.Source.CHAT
        conversation.created_at = item.created_at or conversation.created_at
        conversation.updated_at = item.updated_at or conversation.updated_at
    names = ["source", "created_at", "updated_at"]
    sql, params = _updates(
        Conversation, names, written, [[getattr(c, n) for n in names] for c in written]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _discard(conversations: list[Conversation], turns: _Turns) -> None:
    """Delete conversations an import left hidden, a batch of rows at a time, newest
    messages first: a message's replies and later versions come after it."""
    pks = [c.pk for c in conversations]
    for start in range(0, len(pks), BATCH_ROWS):
        some = pks[start : start + BATCH_ROWS]
        messages = Message.objects.filter(conversation__in=some).order_by("-pk")
        ids = list(messages.values_list("pk", flat=True))
        for first in range(0, len(ids), BATCH_ROWS):
            turns.take()
            Message.objects.filter(pk__in=ids[first : first + BATCH_ROWS]).delete()
        turns.take()
        Conversation.objects.filter(source=Conversation.Source.IMPORT, pk__in=some).delete()


def imports_abandoned_delete() -> int:
    """Delete what imports cut short (a process that died) left hidden; how many."""
    cutoff = timezone.now() - ABANDONED_AFTER
    hidden = Conversation.objects.filter(source=Conversation.Source.IMPORT, updated_at__lt=cutoff)
    abandoned = list(hidden.only("pk"))
    _discard(abandoned, _Turns())
    return len(abandoned)


def conversations_import(*, owner, raw: bytes) -> list[Conversation]:
    """Rebuild exported conversations as the importer's own; all of them or none.

    The file is checked whole before anything is written. The conversations are then
    written hidden and their messages in short transactions, and one last short
    transaction shows them all: other members and the workers wait for one batch at
    most, never for the whole import. On any failure what was written is deleted.
    """
    checked = checked_conversations(raw)
    imports_abandoned_delete()
    written: list[Conversation] = []
    turns = _Turns()
    try:
        _write(owner, checked, written, turns)
        turns.take()
        _show(written, checked)
    except BaseException as exc:
        if isinstance(exc, DatabaseError):
            logger.exception("import: the database failed part-way; deleting what was written")
        try:
            _discard(written, turns)
        except DatabaseError:
            logger.exception("import: could not delete the part written; it stays hidden")
        if isinstance(exc, DatabaseError):
            raise ImportInterrupted(
                "The import stopped part-way: the database refused a write, and nothing "
                "was kept. Try again in a moment."
            ) from exc
        raise
    return written
