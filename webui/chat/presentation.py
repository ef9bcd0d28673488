"""How a message looks right now: stored text, or what has streamed so far."""

from dataclasses import dataclass

from webui.chat import selectors, streambuffer
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

    @property
    def live(self) -> tuple:
        """The live state as drawn, to compare with live_state(message) later."""
        return (self.message.status, self.waiting_for_worker, self.queue)


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
    """What a tab compares with what it drew, to tell that a pending message changed."""
    return (message.status, *_queue_state(message))


def _queue_state(message: Message, *, place: bool = True) -> tuple[bool, QueuePlace | None]:
    """Whether it waits for a worker and, when one serves its model, its place in line."""
    if message.status != Message.Status.QUEUED or not message.model_id:
        return False, None
    beats = live_workers()
    waiting = waiting_for_worker(message, beats)
    return waiting, None if waiting or not place else queue_place(message, beats)


class Drawn:
    """What one tab was drawn of the answers still pending in its conversation.

    `sent`: how many bytes of each one's text the tab has, so that catching up from the
    buffer and following live deltas never repeat or skip. `states`: the live state drawn.
    """

    def __init__(self, conversation_id: int):
        self.conversation_id = conversation_id
        self.sent: dict[int, int] = {}
        self.states: dict[int, tuple] = {}

    def add(self, view: MessageView) -> None:
        """Remember what the tab now shows of this message (nothing, once it has ended)."""
        if not view.message.is_active:
            self.forget(view.message.pk)
            return
        self.sent[view.message.pk] = view.streamed_bytes
        self.states[view.message.pk] = view.live

    def forget(self, message_id: int) -> None:
        self.sent.pop(message_id, None)
        self.states.pop(message_id, None)

    def add_all(self, views: list[MessageView]) -> None:
        """The whole list was drawn again: it shows these messages, no others."""
        self.states.clear()
        for view in views:
            self.add(view)

    def changed(self) -> list[int]:
        """The pending answers drawn whose live state is not the one drawn (ended ones
        too: the event that told of their end was lost)."""
        drawn = dict(self.states)
        active = selectors.active_messages(conversation_id=self.conversation_id)
        now = {m.pk: live_state(m) for m in active.filter(pk__in=drawn).select_related("model")}
        return [message_id for message_id, state in drawn.items() if now.get(message_id) != state]
