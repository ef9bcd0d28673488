"""The frames a conversation's socket sends a tab, each rendered from its template.

htmx's ws extension swaps every top-level element of a frame by its id
(hx-swap-oob): the templates keep the ids, classes and data-* the page has.
"""

from django.template.loader import render_to_string

from webui.chat.models import Conversation
from webui.chat.paging import MessagePage
from webui.chat.presentation import MessageView


def delta(message_id: int, text: str) -> str:
    """Text to append to a streaming answer."""
    context = {"message_id": message_id, "text": text}
    return render_to_string("chat/_message_delta.html", context)


def streaming_markdown(message_id: int, blocks: str, tail: str, chars: int) -> str:
    """A streaming answer's Markdown brought up to date: blocks that became final, appended,
    and its growing block, which holds the first `chars` characters of its text."""
    context = {"message_id": message_id, "blocks": blocks, "tail": tail, "chars": chars}
    return render_to_string("chat/_stream_markdown.html", {**context, "oob": True})


def composer_error(text: str) -> str:
    """Why the composer's message (or an action on a message) was refused."""
    return render_to_string("chat/_composer_error.html", {"error": text})


def appended(views: list[MessageView]) -> str:
    """Messages added at the end of the list, and the composer emptied for the next one."""
    return render_to_string("chat/_messages_appended.html", {"views": views})


def messages(conversation: Conversation, page: MessagePage, views: list[MessageView]) -> str:
    """The whole list drawn again (`page`, with its control for earlier messages), and the
    context meter."""
    context = {
        "conversation": conversation,
        "earlier": page,
        "messages": views,
        "meter_of": _meter_of(conversation.pk),
    }
    return render_to_string("chat/_messages_redrawn.html", context)


def message(view: MessageView) -> str:
    """One message drawn again in place; once it has ended, with the context meter."""
    ended = not view.message.is_active
    context = {"view": view, "meter_of": _meter_of(view.message.conversation_id) if ended else None}
    return render_to_string("chat/_message_redrawn.html", context)


def title(conversation_id: int) -> str | None:
    """The conversation's title as stored now, for the page's header (and, from there, the
    sidebar and the tab's title: static/js/chat/titles.js); None if it is gone."""
    found = Conversation.objects.filter(pk=conversation_id).values_list("title", flat=True)
    if not found:
        return None
    return render_to_string("chat/_conversation_title.html", {"title": found[0]})


def _meter_of(conversation_id: int) -> Conversation | None:
    """The conversation as stored now: its model or settings may have changed since."""
    return Conversation.objects.select_related("model").filter(pk=conversation_id).first()
