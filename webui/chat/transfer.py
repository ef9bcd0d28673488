"""Export conversations as Markdown or JSON, and import that JSON back for its importer."""

import json
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webui.chat import versions
from webui.chat.models import Conversation, Message
from webui.registry.models import LLMModel

FORMAT = "homefire.conversations"
VERSION = 1
MAX_IMPORT_BYTES = 20 * 1024 * 1024

_MESSAGE_TEXT = ("role", "content", "status", "error", "worker", "finish_reason")
_MESSAGE_FIGURES = ("prompt_tokens", "completion_tokens", "truncated_turns")
_MESSAGE_FLOATS = ("ttft_ms", "tokens_per_second")
_MESSAGE_TIMES = ("created_at", "started_at", "finished_at")


class ImportRejected(ValueError):
    """The file cannot be imported; the text says why, in words for the user."""


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _message_data(message: Message) -> dict:
    data = {name: getattr(message, name) for name in _MESSAGE_TEXT + _MESSAGE_FIGURES}
    data |= {name: getattr(message, name) for name in _MESSAGE_FLOATS}
    data |= {name: _time(getattr(message, name)) for name in _MESSAGE_TIMES}
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


def _check(condition: bool, where: str, what: str) -> None:
    if not condition:
        raise ImportRejected(f"This file cannot be imported: {where} {what}.")


def _clean_time(value, where: str) -> datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    _check(parsed is not None, where, "has a date that is not ISO 8601")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _clean_message(data, where: str, models: dict[str, LLMModel]) -> dict:
    _check(isinstance(data, dict), where, "is not an object")
    fields = {}
    for name in _MESSAGE_TEXT:
        value = data.get(name, "")
        _check(isinstance(value, str), where, f"has a {name} that is not text")
        fields[name] = value
    _check(fields["role"] in Message.Role.values, where, "has an unknown role")
    _check(fields["status"] in Message.Status.values, where, "has an unknown status")
    if fields["status"] in Message.ACTIVE_STATUSES:
        # No worker is writing it any more: keep what was written, as stopped.
        fields["status"] = Message.Status.STOPPED
    for name in _MESSAGE_FIGURES:
        value = data.get(name)
        ok = value is None or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 0
        )
        _check(ok, where, f"has a {name} that is not a whole number")
        fields[name] = value
    fields["truncated_turns"] = fields["truncated_turns"] or 0
    for name in _MESSAGE_FLOATS:
        value = data.get(name)
        ok = value is None or (isinstance(value, int | float) and not isinstance(value, bool))
        _check(ok, where, f"has a {name} that is not a number")
        fields[name] = value
    for name in _MESSAGE_TIMES:
        fields[name] = _clean_time(data.get(name), where)
    sampling = data.get("sampling") or {}
    _check(isinstance(sampling, dict), where, "has sampling settings that are not an object")
    fields["sampling"] = sampling
    fields["model"] = models.get(data.get("model"))
    return fields


def _clean_links(data: dict, index: int, where: str) -> dict:
    """A message's parent and first version, as positions of earlier messages (optional)."""
    links = {}
    for name in ("parent", "version_of"):
        value = data.get(name)
        ok = value is None or (_is_count(value) and value < index)
        _check(ok, where, f"has a {name} that is not the position of an earlier message")
        links[name] = value
    _check(data.get("shown", True) in (True, False), where, "has a shown that is not true or false")
    links["shown"] = data.get("shown", True)
    return links


def _parse(raw: bytes) -> list:
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportRejected("This file is too large to import (the limit is 20 MB).")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportRejected("This file is not JSON exported from Homefire.") from exc
    is_export = isinstance(document, dict) and document.get("format") == FORMAT
    _check(is_export, "it", "is not a Homefire export")
    _check(document.get("version") == VERSION, "its version", "is not one this server reads")
    _check(isinstance(document.get("conversations"), list), "it", "has no list of conversations")
    return document["conversations"]


@transaction.atomic
def conversations_import(*, owner, raw: bytes) -> list[Conversation]:
    """Rebuild exported conversations as the importer's own; all of them or none."""
    models = {m.slug: m for m in LLMModel.objects.all()}
    imported = []
    for number, data in enumerate(_parse(raw), start=1):
        where = f"conversation {number}"
        _check(isinstance(data, dict), where, "is not an object")
        title = data.get("title")
        _check(isinstance(title, str) and 0 < len(title) <= 200, where, "has no usable title")
        _check(isinstance(data.get("messages"), list), where, "has no list of messages")
        messages = [
            _clean_message(m, f"message {i} of {where}", models)
            for i, m in enumerate(data["messages"], start=1)
        ]
        links = [
            _clean_links(m, i, f"message {i + 1} of {where}")
            for i, m in enumerate(data["messages"])
        ]
        created = _clean_time(data.get("created_at"), where)
        updated = _clean_time(data.get("updated_at"), where)
        conversation = Conversation.objects.create(
            owner=owner,
            title=title,
            model=models.get(data.get("model")),
            pinned=data.get("pinned") is True,
            archived=data.get("archived") is True,
        )
        rows = Message.objects.bulk_create(
            Message(
                conversation=conversation,
                shown=link["shown"],
                **{k: v for k, v in m.items() if k != "created_at"},
            )
            for m, link in zip(messages, links, strict=True)
        )
        # auto_now_add and auto_now stamp the import time; put the exported times back.
        for row, message, link in zip(rows, messages, links, strict=True):
            row.created_at = message["created_at"] or row.created_at
            for name in ("parent", "version_of"):
                if link[name] is not None:
                    setattr(row, f"{name}_id", rows[link[name]].pk)
        Message.objects.bulk_update(rows, ["created_at", "parent", "version_of"])
        Conversation.objects.filter(pk=conversation.pk).update(
            created_at=created or conversation.created_at,
            updated_at=updated or conversation.updated_at,
        )
        imported.append(conversation)
    _check(bool(imported), "it", "holds no conversations")
    return imported
