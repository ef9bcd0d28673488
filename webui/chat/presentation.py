"""How a message looks right now: stored text, or what has streamed so far."""

from dataclasses import dataclass

from django.template.loader import render_to_string

from webui.chat import streambuffer
from webui.chat.model_states import QueuePlace, queue_place
from webui.chat.models import Message
from webui.registry.presence import WorkerBeat, live_workers, workers_for


@dataclass
class MessageView:
    message: Message
    text: str
    streamed_bytes: int
    waiting_for_worker: bool
    queue: QueuePlace | None = None  # where a queued answer stands, when a worker serves it


def waiting_for_worker(message: Message, beats: list[WorkerBeat] | None = None) -> bool:
    """True for a queued answer whose model no live worker serves (among `beats`, the
    live workers' heartbeats, when the caller has read them already)."""
    if message.status != Message.Status.QUEUED or not message.model_id:
        return False
    return not workers_for(message.model.slug, beats)


def view_of(message: Message, *, place: bool = True) -> MessageView:
    """Read the live state of a message: its buffer while active, its row once finished.

    Without `place`, a queued answer's place in line is left out (it takes the database a
    few queries): whether a worker serves its model is still read.
    """
    text, streamed = message.content, 0
    if message.status == Message.Status.STREAMING:
        buffered = streambuffer.read(message.pk)
        streamed = len(buffered)
        if buffered:
            text = buffered.decode(errors="replace")
    waiting, queue = _queue_state(message, place=place)
    return MessageView(message, text, streamed, waiting, queue)


def live_state(message: Message) -> tuple:
    """What the watch loop compares to tell that a pending message should be redrawn."""
    return (message.status, *_queue_state(message))


def _queue_state(message: Message, *, place: bool = True) -> tuple[bool, QueuePlace | None]:
    """Whether it waits for a worker and, when one serves its model, its place in line."""
    if message.status != Message.Status.QUEUED or not message.model_id:
        return False, None
    beats = live_workers()
    waiting = waiting_for_worker(message, beats)
    return waiting, None if waiting or not place else queue_place(message, beats)


def message_html(view: MessageView, *, oob: bool = False) -> str:
    return render_to_string("chat/_message.html", {"view": view, "oob": oob})
