"""The checks of an import file, made whole before anything is written: each refusal says
where it is and what is wrong, and names the bound it passes."""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webui.chat.models import Conversation, Message
from webui.chat.sampling import SamplingRejected, clean_sampling
from webui.chat.transfer_foreign import ACCEPTED, conversations_of
from webui.chat.transfer_tree import ImportRejected, check, refuse
from webui.registry.models import LLMModel

FORMAT = "homefire.conversations"
VERSION = 1
MAX_IMPORT_MB = 20
MAX_IMPORT_BYTES = MAX_IMPORT_MB * 1024 * 1024
TOO_LARGE = f"This file is too large to import (the limit is {MAX_IMPORT_MB} MB)."
# A PositiveIntegerField holds this much on every database Django supports.
_MAX_COUNT = 2**31 - 1
# Python's own bound on the digits of an int read from text; longer ones get a reason.
_MAX_DIGITS = 4300

MESSAGE_TEXT = ("role", "content", "status", "error", "worker", "finish_reason")
MESSAGE_FIGURES = ("prompt_tokens", "completion_tokens", "truncated_turns")
MESSAGE_FLOATS = ("ttft_ms", "tokens_per_second")
MESSAGE_TIMES = ("created_at", "started_at", "finished_at")


@dataclass
class CheckedConversation:
    """One conversation of the file, ready to write: every value checked and typed."""

    fields: dict  # title, model, pinned, archived
    created_at: datetime | None
    updated_at: datetime | None
    messages: list[dict]  # Message fields, created_at included
    links: list[dict]  # parent and version_of (positions of earlier messages), shown


def max_messages() -> int:
    """Messages one import may hold; conversations count against the same bound."""
    return settings.HOMEFIRE["IMPORT_MAX_MESSAGES"]


def _limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length or settings.HOMEFIRE["MAX_MESSAGE_CHARS"]


def _text(value, where: str, name: str, limit: int) -> str:
    check(isinstance(value, str), where, f"has a {name} that is not text")
    check(
        len(value) <= limit,
        where,
        f"has a {name} of {len(value):,} characters; the limit is {limit:,}",
    )
    # Both would fail only when written: PostgreSQL refuses NUL, no database takes lone
    # surrogates (which JSON's \ud800 escapes can make).
    check("\x00" not in value, where, f"has a {name} with a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        refuse(where, f"has a {name} that is not valid Unicode")
    return value


def _flag(data: dict, name: str, where: str, default: bool) -> bool:
    value = data.get(name)
    if value is None:
        return default
    check(isinstance(value, bool), where, f"has a {name} that is not true or false")
    return value


def _model(data: dict, where: str, models: dict[str, LLMModel]) -> LLMModel | None:
    slug = data.get("model")
    check(slug is None or isinstance(slug, str), where, "has a model that is not text")
    return models.get(slug) if slug else None  # a model this server lacks: none


def _time(data: dict, name: str, where: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed but impossible, as 2024-13-45
        parsed = None
    check(parsed is not None, where, f"has a {name} that is not an ISO 8601 date")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    try:
        parsed.astimezone(UTC)  # databases store UTC: 9999-12-31T23:59-14:00 has none
    except OverflowError:
        refuse(where, f"has a {name} out of range")
    return parsed


def _figure(data: dict, name: str, where: str) -> int | None:
    value = data.get(name)
    ok = value is None or (type(value) is int and 0 <= value <= _MAX_COUNT)
    check(ok, where, f"has a {name} that is not a whole number from 0 to {_MAX_COUNT:,}")
    return value


def _float(data: dict, name: str, where: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        number = float(value) if type(value) in (int, float) else math.nan
    except OverflowError:
        number = math.nan
    check(math.isfinite(number), where, f"has a {name} that is not a number")
    return number


def _message(data, where: str, models: dict[str, LLMModel]) -> dict:
    check(isinstance(data, dict), where, "is not an object")
    fields = {
        name: _text(data.get(name, ""), where, name, _limit(Message, name)) for name in MESSAGE_TEXT
    }
    check(fields["role"] in Message.Role.values, where, "has an unknown role")
    check(fields["status"] in Message.Status.values, where, "has an unknown status")
    if fields["status"] in Message.ACTIVE_STATUSES:
        # No worker is writing it any more: keep what was written, as stopped.
        fields["status"] = Message.Status.STOPPED
    fields |= {name: _figure(data, name, where) for name in MESSAGE_FIGURES}
    fields["truncated_turns"] = fields["truncated_turns"] or 0
    fields |= {name: _float(data, name, where) for name in MESSAGE_FLOATS}
    fields |= {name: _time(data, name, where) for name in MESSAGE_TIMES}
    try:
        # The worker hands these to the shared decoder: only settings it can use get in.
        fields["sampling"] = clean_sampling(data.get("sampling"))
    except SamplingRejected as exc:
        refuse(where, f"has sampling settings that cannot be used: {exc}".rstrip("."))
    fields["model"] = _model(data, where, models)
    return fields


def _links(data: dict, index: int, where: str) -> dict:
    """A message's parent and first version, as positions of earlier messages (optional)."""
    links = {}
    for name in ("parent", "version_of"):
        value = data.get(name)
        ok = value is None or (type(value) is int and 0 <= value < index)
        check(ok, where, f"has a {name} that is not the position of an earlier message")
        links[name] = value
    links["shown"] = _flag(data, "shown", where, default=True)
    return links


def _conversation(data, where: str, models: dict[str, LLMModel]) -> CheckedConversation:
    check(isinstance(data, dict), where, "is not an object")
    title = _text(data.get("title"), where, "title", _limit(Conversation, "title"))
    check(bool(title), where, "has an empty title")
    fields = {
        "title": title,
        "model": _model(data, where, models),
        "pinned": _flag(data, "pinned", where, default=False),
        "archived": _flag(data, "archived", where, default=False),
    }
    messages, links = [], []
    for index, message in enumerate(data["messages"]):
        at = f"message {index + 1} of {where}"
        messages.append(_message(message, at, models))
        links.append(_links(message, index, at))
    return CheckedConversation(
        fields,
        _time(data, "created_at", where),
        _time(data, "updated_at", where),
        messages,
        links,
    )


class _OutOfRange(ValueError):
    pass


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _OutOfRange(text)
    return number


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise _OutOfRange(text)
    return int(text)


def _no_constant(name: str) -> NoReturn:
    raise _OutOfRange(name)


def _parse(raw: bytes) -> list:
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportRejected(TOO_LARGE)
    try:
        document = json.loads(
            raw.decode("utf-8"),
            parse_float=_finite,
            parse_int=_integer,
            parse_constant=_no_constant,
        )
    except _OutOfRange as exc:
        number = str(exc)[:20] + ("…" if len(str(exc)) > 20 else "")
        raise ImportRejected(
            f"This file cannot be imported: it holds a number out of range ({number})."
        ) from None
    except RecursionError:
        raise ImportRejected("This file cannot be imported: it is nested too deeply.") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportRejected(f"This file is not JSON. Import reads {ACCEPTED}.") from exc
    if not (isinstance(document, dict) and document.get("format") == FORMAT):
        conversations = conversations_of(document)
        check(conversations is not None, "it is not", f"{ACCEPTED}, the formats this server reads")
        return conversations
    version = document.get("version")
    check(
        type(version) is int and version == VERSION, "its version", "is not one this server reads"
    )
    check(isinstance(document.get("conversations"), list), "it", "has no list of conversations")
    return document["conversations"]


def _check_sizes(conversations: list) -> None:
    """The bounds of one import, before any conversation is checked in detail."""
    limit = max_messages()
    check(bool(conversations), "it", "holds no conversations")
    bound = f"one import may hold up to {limit:,} (an admin can raise this)"
    count = len(conversations)
    check(count <= limit, "it", f"holds {count:,} conversations; {bound}")
    total = 0
    for number, data in enumerate(conversations, start=1):
        where = f"conversation {number}"
        check(isinstance(data, dict), where, "is not an object")
        check(isinstance(data.get("messages"), list), where, "has no list of messages")
        total += len(data["messages"])
    check(total <= limit, "it", f"holds {total:,} messages; {bound}")


def checked_conversations(raw: bytes) -> list[CheckedConversation]:
    """The file's conversations, every value checked; raise ImportRejected naming the first
    thing wrong. Reads the models, writes nothing."""
    conversations = _parse(raw)
    _check_sizes(conversations)
    models = {m.slug: m for m in LLMModel.objects.all()}
    return [
        _conversation(data, f"conversation {number}", models)
        for number, data in enumerate(conversations, start=1)
    ]
