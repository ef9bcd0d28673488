"""What a waiting answer says: its place among the answers a worker took but has no slot
for yet, and "no worker" exactly when its model's badge says so."""

from django.utils import timezone

from tests.webui.chat.test_model_states import _finished, _model, alice, beats  # noqa: F401
from webui.chat import streambuffer
from webui.chat.model_states import QueuePlace, slot_place
from webui.chat.models import Conversation, Message
from webui.chat.presentation import live_state, view_of, waiting_for_worker
from webui.core.redis import client


def _taken(conversation, model, worker="one@test:1"):
    return Message.objects.create(
        conversation=conversation,
        role="assistant",
        status="streaming",
        model=model,
        worker=worker,
        started_at=timezone.now(),
    )


def test_taken_answers_beyond_the_slots_wait_in_the_order_they_were_taken(alice, beats):  # noqa: F811
    model = _model("two-slots", parallel=2)
    beats(model, "busy")
    conversation = Conversation.objects.create(owner=alice, model=model)
    taken = [_taken(conversation, model) for _ in range(4)]
    elsewhere = _taken(conversation, model, worker="two@test:2")  # another worker's slots
    try:
        # Nothing written yet: the first two hold the slots and read their prompts.
        assert [slot_place(m) for m in taken[:2]] == [None, None]
        assert slot_place(taken[2]) == QueuePlace(ahead=0, seconds=None)
        assert slot_place(taken[3]) == QueuePlace(ahead=1, seconds=None)
        assert slot_place(elsewhere) is None
        # The first writes: it still holds its slot, and so does the second.
        streambuffer.append(taken[0].pk, "Once")
        assert slot_place(taken[1]) is None and slot_place(taken[3]).ahead == 1
        for seconds in (8, 10, 12):
            _finished(model, seconds)
        # Two slots free up one answer's time (10 s, the median) apart, two at a time.
        assert slot_place(taken[3]) == QueuePlace(ahead=1, seconds=10)
        assert slot_place(taken[2]).text == "next in line, about 5 s"

        view = view_of(taken[3])
        assert view.queue == slot_place(taken[3]) and not view.waiting_for_worker
        assert live_state(taken[3]) == view.live
        html = view_of(taken[0])
        assert html.queue is None and html.text == "Once"
    finally:
        client().delete(*(streambuffer.text_key(m.pk) for m in [*taken, elsewhere]))


def test_a_queued_answer_waits_for_a_worker_exactly_when_the_badge_says_no_worker(alice, beats):  # noqa: F811
    model = _model("drained-one", is_default=True)
    conversation = Conversation.objects.create(owner=alice, model=model)
    answer = Message.objects.create(
        conversation=conversation, role="assistant", status="queued", model=model
    )
    assert waiting_for_worker(answer)
    beats(model, "drained")  # alive, holding the model, taking nothing
    assert waiting_for_worker(answer) and view_of(answer).queue is None
    beats(model, "loading")
    view = view_of(answer)
    assert not view.waiting_for_worker and view.loading and view.queue == QueuePlace(0, None)
    beats(model, "ready")
    view = view_of(answer)
    assert (view.waiting_for_worker, view.loading) == (False, False)
