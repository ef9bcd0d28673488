"""How a message looks right now: stored text, or what has streamed so far."""

from dataclasses import dataclass

from django.template.loader import render_to_string

from webui.chat import streambuffer
from webui.chat.models import Message
from webui.registry.presence import workers_for


@dataclass
class MessageView:
    message: Message
    text: str
    streamed_bytes: int
    waiting_for_worker: bool


def view_of(message: Message) -> MessageView:
    """Read the live state of a message: its buffer while active, its row once finished."""
    text, streamed, waiting = message.content, 0, False
    if message.status == Message.Status.STREAMING:
        buffered = streambuffer.read(message.pk)
        streamed = len(buffered)
        if buffered:
            text = buffered.decode(errors="replace")
    elif message.status == Message.Status.QUEUED and message.model_id:
        waiting = not workers_for(message.model.slug)
    return MessageView(message, text, streamed, waiting)


def message_html(view: MessageView, *, oob: bool = False) -> str:
    return render_to_string("chat/_message.html", {"view": view, "oob": oob})
