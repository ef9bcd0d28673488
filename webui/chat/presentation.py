"""How a message looks right now: stored text, or what has streamed so far."""

from dataclasses import dataclass

from webui.chat import selectors, streambuffer
from webui.chat.model_states import QueuePlace, queue_place, serving_state, slot_place
from webui.chat.models import Message
from webui.registry.presence import WorkerBeat, live_workers


@dataclass
class MessageView:
    message: Message
    text: str
    streamed_bytes: int
    waiting_for_worker: bool  # queued, and no worker takes its model's answers
    # Where it stands: queued, in its model's line; taken by a worker, among the answers
    # that wait for one of the worker's slots.
    queue: QueuePlace | None = None
    loading: bool = False  # queued while its model's only workers are loading it

    @property
    def live(self) -> tuple:
        """The live state as drawn, to compare with live_state(message) later."""
        return (self.message.status, self.waiting_for_worker, self.loading, self.queue)


def waiting_for_worker(message: Message, beats: list[WorkerBeat] | None = None) -> bool:
    """True for a queued answer whose model no worker takes answers for now (among
    `beats`, the live workers' heartbeats, when the caller has read them already): none
    runs, or those that do drain, are drained or failed. The model's badge says
    "no worker" then too (model_states.serving_state)."""
    if message.status != Message.Status.QUEUED or not message.model:
        return False
    beats = live_workers() if beats is None else beats
    return serving_state(message.model, beats) == "no-worker"


def view_of(message: Message, *, place: bool = True) -> MessageView:
    """Read the live state of a message: its buffer while active, its row once finished.

    Without `place`, a waiting answer's place is left out (it takes the database a few
    queries): whether a worker serves its model is still read.
    """
    text, streamed = message.content, 0
    if message.status == Message.Status.STREAMING:
        buffered = streambuffer.read(message.pk)
        streamed = len(buffered)
        if buffered:
            text = buffered.decode(errors="replace")
    return MessageView(message, text, streamed, *_queue_state(message, place=place))


def live_state(message: Message) -> tuple:
    """What a tab compares with what it drew, to tell that a pending message changed."""
    waiting, queue, loading = _queue_state(message)
    return (message.status, waiting, loading, queue)


def _queue_state(message: Message, *, place: bool = True) -> tuple[bool, QueuePlace | None, bool]:
    """Whether it waits for a worker, its place while it waits for a slot, and whether
    its model is loading."""
    if message.status == Message.Status.STREAMING:
        return False, slot_place(message) if place else None, False
    if message.status != Message.Status.QUEUED or not message.model:
        return False, None, False
    beats = live_workers()
    state = serving_state(message.model, beats)
    if state == "no-worker":
        return True, None, False
    return False, queue_place(message, beats) if place else None, state == "loading"


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
