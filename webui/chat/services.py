"""Writes: starting and arranging conversations, sending, stopping and finishing messages."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from webui.chat import answers, sources, standing, versions
from webui.chat.context_meter import model_context
from webui.chat.models import Conversation, Message
from webui.registry.models import LLMModel
from webui.team import gate as team_gate

log = logging.getLogger(__name__)

TITLE_LENGTH = 60


class MessageRejected(ValueError):
    """The message cannot be sent; the text says why, in words for the user."""


def title_from(content: str) -> str:
    line = " ".join(content.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def _clean_content(content: str) -> str:
    content = (content or "").strip()
    if not content:
        raise MessageRejected("Type a message first.")
    limit = settings.HOMEFIRE["MAX_MESSAGE_CHARS"]
    if len(content) > limit:
        raise MessageRejected(
            f"This message is {len(content):,} characters long; the limit is {limit:,}."
        )
    return content


def _usable_model(model: LLMModel | None) -> LLMModel:
    if model is None or not model.enabled:
        model = LLMModel.objects.filter(enabled=True).order_by("-is_default", "name").first()
    if model is None:
        raise MessageRejected("No model is available. Ask an admin to enable one.")
    return model


@transaction.atomic
def conversation_start(
    *, owner, content: str, model: LLMModel | None = None, temporary: bool = False
) -> Conversation:
    """Create a conversation titled after its first message, and send that message.

    A temporary one is kept only while a tab shows it (webui.chat.temporary): it counts
    as left until its page's socket opens.
    """
    content = _clean_content(content)
    conversation = Conversation.objects.create(
        owner=owner,
        title=title_from(content),
        model=_usable_model(model),
        source=Conversation.Source.TEMPORARY if temporary else Conversation.Source.CHAT,
        left_at=timezone.now() if temporary else None,
    )
    message_send(conversation=conversation, content=content)
    return conversation


@transaction.atomic
def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    """Give a conversation a new title (one line, at most 200 characters)."""
    title = " ".join((title or "").split())
    if not title:
        raise MessageRejected("Give the conversation a title.")
    if len(title) > 200:
        raise MessageRejected(f"This title is {len(title)} characters long; the limit is 200.")
    conversation.title = title
    conversation.save(update_fields=["title"])
    return conversation


def conversation_arrange(
    *, conversation: Conversation, pinned: bool | None = None, archived: bool | None = None
) -> Conversation:
    """Pin or unpin, archive or unarchive, without touching its time of last activity."""
    changes = {k: v for k, v in {"pinned": pinned, "archived": archived}.items() if v is not None}
    Conversation.objects.filter(pk=conversation.pk).update(**changes)
    for name, value in changes.items():
        setattr(conversation, name, value)
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    """Delete a conversation and its messages, stopping any answer still being written."""
    for answer in conversation.messages.filter(status__in=Message.ACTIVE_STATUSES):
        message_stop(message=answer)
    conversation.delete()


def message_send(*, conversation: Conversation, content: str) -> tuple[Message, Message]:
    """Store the user's message and a queued answer, then queue the answer's generation.

    The checks read before the transaction: on SQLite a write transaction locks the whole
    database, and the workers' claims wait for it. Questions to one web process are
    stored one at a time (webui.chat.arrival_order), so a user's limits still hold.
    """
    content = _clean_content(content)
    model = _checked_model(conversation)
    found = answer_sources(conversation=conversation, model=model, question=content)
    with transaction.atomic():
        _answered_by(conversation, model)
        question = Message.objects.create(
            conversation=conversation,
            role=Message.Role.USER,
            content=content,
            parent_id=versions.path_end_id(conversation),
        )
        answer = answer_queue(conversation=conversation, model=model, parent=question)
        sources.cite(answer=answer, sources=found)
        return question, answer


def answer_sources(
    *, conversation: Conversation, model: LLMModel, question: str
) -> list[sources.Source]:
    """The passages of the conversation's documents an answer to `question` is given
    (webui.chat.sources); read before the question's transaction."""
    return sources.gather(
        conversation=conversation, question=question, context_size=model_context(model)
    )


def answer_model(conversation: Conversation) -> LLMModel:
    """The model that will write the conversation's next answer, if the user may use it."""
    model = _checked_model(conversation)
    _answered_by(conversation, model)
    return model


def _checked_model(conversation: Conversation) -> LLMModel:
    model = _usable_model(conversation.model)
    try:
        standing.check_send(user=conversation.owner, model=model)
    except team_gate.Refused as exc:
        raise MessageRejected(str(exc)) from None
    return model


def _answered_by(conversation: Conversation, model: LLMModel) -> None:
    """Record the model and the time of activity on the conversation."""
    if conversation.model_id != model.pk:
        conversation.model = model
    conversation.save(update_fields=["model", "updated_at"])


def answer_queue(
    *, conversation: Conversation, model: LLMModel, parent: Message, **version
) -> Message:
    """Store a queued answer after `parent` and send it to the model's workers on commit.

    `version` (version_of=...) makes it a new version of an earlier answer.
    """
    return answers.queue(conversation=conversation, model=model, parent=parent, **version)


def message_stop(*, message: Message) -> None:
    """Stop an answer: drop it from the queue, or ask its worker to end it now."""
    answers.stop(message=message)
