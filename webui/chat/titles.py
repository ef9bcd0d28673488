"""Automatic titles: once a conversation's first answer is done, its model names it.

A conversation starts titled after its first message (services.title_from). When its
first answer is done, a title task goes to the model's queue (by name: the web process
never imports the worker); the worker writes a short title as background work that gives
way to every answer (inference.worker.titles), and `title_write` stores it only if the
title is still the one the conversation started with: a rename, made at any moment,
wins, in one compare-and-set UPDATE. HOMEFIRE_AUTO_TITLES=false turns it off.
"""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from webui.celery import app
from webui.chat import broadcast, events
from webui.chat.models import Conversation, Message
from webui.chat.services import title_from

log = logging.getLogger(__name__)

TITLE_TASK = "inference.tasks.write_title"
MAX_WORDS = 8
MAX_CHARS = 80
# How much of the first question and answer the model reads to name the conversation.
SOURCE_CHARS = 1000
# A title task not taken by a worker within this time is dropped: a title that comes
# much later would only surprise.
TASK_LIFETIME = timedelta(minutes=10)
INSTRUCTION = (
    "Write a short title, at most 8 words, for the conversation below. "
    "Reply with the title alone, without quotes."
)
_LABEL = re.compile(r"^[\s#*_>\"']*(title|topic|subject)\s*:\s*", re.IGNORECASE)
# Words a title cut short should not end on.
_DANGLING = {"a", "an", "the", "of", "in", "at", "and", "or", "to", "for", "with", "on", "by"}
_TRIM = "\"'`*_#“”‘’«»()[]<> \t.:;,-–—"


def enabled() -> bool:
    return settings.HOMEFIRE["AUTO_TITLES"]


def request_after(answer: Message) -> None:
    """Ask the answer's model for a title, after commit, if this was the conversation's
    first answer and the conversation still has the title it started with; never raises
    (the answer is stored already, and a title is a nicety)."""
    if not enabled() or answer.model_id is None:
        return
    try:
        _request(answer)
    except Exception:
        log.exception("conversation %s: no title was asked for", answer.conversation_id)


def _request(answer: Message) -> None:
    first = (
        Message.objects.filter(
            pk=answer.parent_id,
            role=Message.Role.USER,
            parent__isnull=True,
            conversation__source=Conversation.Source.CHAT,
        )
        .values_list("content", "conversation__title")
        .first()
    )
    if first is None:
        return
    question, title = first
    if title != title_from(question):
        return  # renamed, or titled already
    queue = answer.model.queue_name
    conversation_id = answer.conversation_id
    transaction.on_commit(
        lambda: app.send_task(
            TITLE_TASK,
            args=[conversation_id, title],
            queue=queue,
            expires=TASK_LIFETIME.total_seconds(),
        )
    )


def title_source(conversation_id: int, expected: str) -> tuple[str, str, str] | None:
    """The first question and answer to name the conversation from, and the slug of the
    model that answered; None when its title is no longer `expected` (renamed, titled)
    or it has no finished first answer."""
    if not Conversation.objects.filter(pk=conversation_id, title=expected).exists():
        return None
    answer = (
        Message.objects.filter(
            conversation_id=conversation_id,
            role=Message.Role.ASSISTANT,
            status=Message.Status.DONE,
            parent__parent__isnull=True,
        )
        .select_related("parent", "model")
        .order_by("id")
        .first()
    )
    if answer is None or answer.parent is None or answer.model is None:
        return None
    return answer.parent.content, answer.content, answer.model.slug


def prompt_messages(question: str, answer: str) -> list[dict]:
    """The chat that asks a model for the title of a conversation."""
    shown = (
        f"Question: {question[:SOURCE_CHARS]}\n\nAnswer: {answer[:SOURCE_CHARS]}\n\n"
        f"Title (at most {MAX_WORDS} words):"
    )
    return [{"role": "system", "content": INSTRUCTION}, {"role": "user", "content": shown}]


def cleaned(text: str) -> str:
    """A model's reply made a title: its first line, no label, quotes or Markdown, at most
    MAX_WORDS words and MAX_CHARS characters; "" when nothing is left."""
    line = next((line for line in (text or "").splitlines() if line.strip()), "")
    line = _LABEL.sub("", line)
    words = " ".join(line.split()).strip(_TRIM).split()
    if len(words) > MAX_WORDS:
        # Cut at the last clause's end within the limit, if one leaves two words or more.
        words = words[:MAX_WORDS]
        ends = [i for i, word in enumerate(words[1:-1], 2) if word[-1] in ",;:–—"]
        words = words[: ends[-1]] if ends else words
        while len(words) > 2 and words[-1].lower() in _DANGLING:
            words.pop()
    title = " ".join(words).strip(_TRIM)
    if len(title) > MAX_CHARS:
        title = title[: MAX_CHARS - 1].rstrip() + "…"
    return title


def title_write(*, conversation_id: int, expected: str, text: str) -> bool:
    """Store the model's title if the conversation's title is still `expected`; say
    whether it did. The UPDATE compares and sets at once, so a rename always wins."""
    title = cleaned(text)
    if not title or title == expected:
        return False
    changed = Conversation.objects.filter(pk=conversation_id, title=expected).update(title=title)
    if changed:
        transaction.on_commit(
            lambda: broadcast.to_conversation(
                conversation_id, events.conversation_retitled(conversation_id), wait=False
            )
        )
    return bool(changed)
