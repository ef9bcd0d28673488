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


def waiting_for_worker(message: Message) -> bool:
    """True for a queued answer whose model no live worker serves."""
    if message.status != Message.Status.QUEUED or not message.model_id:
        return False
    return not workers_for(message.model.slug)


def view_of(message: Message) -> MessageView:
    """Read the live state of a message: its buffer while active, its row once finished."""
    text, streamed = message.content, 0
    if message.status == Message.Status.STREAMING:
        buffered = streambuffer.read(message.pk)
        streamed = len(buffered)
        if buffered:
            text = buffered.decode(errors="replace")
    return MessageView(message, text, streamed, waiting_for_worker(message))


def message_html(view: MessageView, *, oob: bool = False) -> str:
    return render_to_string("chat/_message.html", {"view": view, "oob": oob})
