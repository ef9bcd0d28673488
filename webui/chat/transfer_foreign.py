"""Readers of other apps' exports: ChatGPT's conversations.json, Open WebUI's and LibreChat's
JSON. Each turns its conversations into the shape of a Homefire export, which the import then
checks and writes as it does its own (webui.chat.transfer_checks): the same bounds, the same
all-or-nothing.

A file's format is told by its shape: ChatGPT's is a list of conversations with a `mapping`
of message nodes; Open WebUI's a list of chats, each with `chat.history`; LibreChat's one
conversation with a `conversationId` and its messages, as a tree or a flat list.
"""

from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from webui.chat.models import Conversation
from webui.chat.transfer_tree import Node, check, homefire_messages, refuse

ACCEPTED = (
    "a Homefire export, ChatGPT's conversations.json, or an Open WebUI or LibreChat JSON export"
)
UNTITLED = "Imported conversation"
# LibreChat's parent of a conversation's first message.
_NO_PARENT = "00000000-0000-0000-0000-000000000000"
# A time this far past 1970 in seconds (the year 5138) is one in milliseconds (JavaScript's).
_MILLISECONDS_FROM = 10**11


def _seconds(value, where: str, name: str) -> float | None:
    """A time given as seconds (or milliseconds) since 1970, or as ISO 8601 text."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        check(parsed is not None, where, f"has a {name} that is not a date")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        value = parsed.timestamp()
    check(type(value) in (int, float), where, f"has a {name} that is not a time")
    seconds = value / 1000 if abs(value) >= _MILLISECONDS_FROM else float(value)
    try:
        datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        refuse(where, f"has a {name} out of range")
    return seconds


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()


def _id(value, where: str, name: str) -> str | None:
    check(value is None or isinstance(value, str), where, f"has a {name} that is not an id")
    return value


def _title(value) -> str:
    limit = Conversation._meta.get_field("title").max_length
    title = value.strip() if isinstance(value, str) else ""
    return title[:limit] or UNTITLED


def _conversation(title, created, updated, messages: list[dict], **flags) -> dict:
    return {
        "title": _title(title),
        "created_at": _iso(created),
        "updated_at": _iso(updated),
        "messages": messages,
        **flags,
    }


def _dict(value, where: str, what: str) -> dict:
    check(isinstance(value, dict), where, what)
    return value


# ChatGPT ---------------------------------------------------------------------------------


def _chatgpt_node(key: str, item, where: str) -> Node:
    at = f"message {key[:40]!r} of {where}"
    _dict(item, at, "is not an object")
    parent = _id(item.get("parent"), at, "parent")
    message = item.get("message")
    if message is None:  # the tree's root
        return Node(key, parent, None, "", None)
    _dict(message, at, "is not an object")
    role = _dict(message.get("author"), at, "has no author").get("role")
    content = _dict(message.get("content"), at, "has no content")
    metadata = message.get("metadata") or {}
    _dict(metadata, at, "has metadata that is not an object")
    parts = (
        content.get("parts") if content.get("content_type") in ("text", "multimodal_text") else []
    )
    check(isinstance(parts, list), at, "has parts that are not a list")
    # Images and files are not imported: only the text parts.
    text = "\n\n".join(part for part in parts if isinstance(part, str))
    # Kept: what ChatGPT shows of the conversation. Not: its hidden system notes, tool calls
    # (an answer sent to a tool, not to "all") and tools' output, reasoning summaries.
    kept = (
        role in ("user", "assistant")
        and message.get("recipient", "all") == "all"
        and not metadata.get("is_visually_hidden_from_conversation")
        and bool(text.strip())
    )
    model = metadata.get("model_slug")
    return Node(
        key,
        parent,
        role if kept else None,
        text,
        _seconds(message.get("create_time"), at, "create_time"),
        model if isinstance(model, str) else None,
    )


def _chatgpt(data, where: str) -> dict:
    _dict(data, where, "is not an object")
    mapping = _dict(data.get("mapping"), where, "has no mapping of messages")
    nodes = [_chatgpt_node(key, item, where) for key, item in mapping.items()]
    current = _id(data.get("current_node"), where, "current_node")
    return _conversation(
        data.get("title"),
        _seconds(data.get("create_time"), where, "create_time"),
        _seconds(data.get("update_time"), where, "update_time"),
        homefire_messages(nodes, current, where),
        archived=data.get("is_archived") is True,
    )


# Open WebUI ------------------------------------------------------------------------------


def _open_webui_node(key: str, parent, item, where: str) -> Node:
    at = f"message {key[:40]!r} of {where}"
    _dict(item, at, "is not an object")
    role, content, model = item.get("role"), item.get("content"), item.get("model")
    check(content is None or isinstance(content, str), at, "has content that is not text")
    kept = role in ("user", "assistant") and bool(content and content.strip())
    return Node(
        key,
        parent,
        role if kept else None,
        content or "",
        _seconds(item.get("timestamp"), at, "timestamp"),
        model if isinstance(model, str) else None,
    )


def _open_webui(data, where: str) -> dict:
    _dict(data, where, "is not an object")
    chat = _dict(data.get("chat"), where, "has no chat")
    history = chat.get("history")
    if isinstance(history, dict) and isinstance(history.get("messages"), dict):
        nodes = []
        for key, item in history["messages"].items():
            parent = _id(
                _dict(item, where, "has a message that is not an object").get("parentId"),
                where,
                "parentId",
            )
            nodes.append(_open_webui_node(key, parent, item, where))
        current = _id(history.get("currentId"), where, "currentId")
    else:  # no tree: the list of the messages shown, in order
        messages = chat.get("messages")
        check(isinstance(messages, list), where, "has no messages")
        nodes = [
            _open_webui_node(str(i), str(i - 1) if i else None, item, where)
            for i, item in enumerate(messages)
        ]
        current = str(len(messages) - 1) if messages else None
    return _conversation(
        data.get("title") or chat.get("title"),
        _seconds(data.get("created_at"), where, "created_at"),
        _seconds(data.get("updated_at"), where, "updated_at"),
        homefire_messages(nodes, current, where),
        pinned=data.get("pinned") is True,
        archived=data.get("archived") is True,
    )


# LibreChat -------------------------------------------------------------------------------


def _librechat_text(item: dict, at: str) -> str:
    text = item.get("text")
    if isinstance(text, str) and text.strip():
        return text
    # Agents' answers keep their text in content parts: {"type": "text", "text": ...}.
    parts = item.get("content") or []
    check(isinstance(parts, list), at, "has content that is not a list")
    texts = []
    for part in parts:
        if isinstance(part, dict) and part.get("type") == "text":
            value = part.get("text")
            value = value.get("value") if isinstance(value, dict) else value
            texts.append(value if isinstance(value, str) else "")
    return "\n\n".join(t for t in texts if t)


def _librechat_node(item, parent, where: str) -> Node:
    _dict(item, where, "has a message that is not an object")
    key = item.get("messageId")
    check(isinstance(key, str), where, "has a message with no messageId")
    at = f"message {key[:40]!r} of {where}"
    text = _librechat_text(item, at)
    model = item.get("model")
    return Node(
        key,
        parent,
        ("user" if item.get("isCreatedByUser") is True else "assistant") if text else None,
        text,
        _seconds(item.get("createdAt"), at, "createdAt"),
        model if isinstance(model, str) else None,
    )


def _librechat(data: dict, where: str) -> dict:
    messages = data["messagesTree"] if "messagesTree" in data else data.get("messages")
    check(isinstance(messages, list), where, "has no list of messages")
    nodes = []
    if data.get("recursive") is True:  # each message holds its answers as `children`
        todo = [(item, None) for item in reversed(messages)]
        while todo:
            item, parent = todo.pop()
            node = _librechat_node(item, parent, where)
            nodes.append(node)
            children = item.get("children") or []
            check(isinstance(children, list), where, "has children that are not a list")
            todo += [(child, node.key) for child in reversed(children)]
    else:
        for item in messages:
            parent = _id(
                _dict(item, where, "has a message that is not an object").get("parentMessageId"),
                where,
                "parentMessageId",
            )
            nodes.append(_librechat_node(item, None if parent == _NO_PARENT else parent, where))
    # LibreChat keeps no current branch: it shows the newest answer of each.
    return _conversation(data.get("title"), None, None, homefire_messages(nodes, None, where))


def conversations_of(document) -> list | None:
    """The conversations of a foreign export, shaped as a Homefire export's; None when the
    document is none of the formats read here."""
    librechat = isinstance(document, dict) and isinstance(document.get("conversationId"), str)
    if librechat and ("messagesTree" in document or "messages" in document):
        return [_librechat(document, "the conversation")]
    if isinstance(document, list):
        if not document:
            return []
        first = document[0]
        if isinstance(first, dict) and "mapping" in first:
            return [_chatgpt(d, f"conversation {n}") for n, d in enumerate(document, start=1)]
        if isinstance(first, dict) and "chat" in first:
            return [_open_webui(d, f"conversation {n}") for n, d in enumerate(document, start=1)]
    return None
