import pytest
from django.contrib.auth import get_user_model
from django.http import Http404

from webui.chat import answers, dispatch, reaper, selectors, services
from webui.chat.models import Conversation, Message


@pytest.fixture
def sent_tasks(monkeypatch):
    """Record what would go to Celery (these are unit tests of the web side only)."""
    sent = []

    def record(*, message_id, queue):
        # The answer must already be committed when the task is sent.
        assert Message.objects.get(pk=message_id).status == Message.Status.QUEUED
        sent.append((message_id, queue))

    monkeypatch.setattr(dispatch, "enqueue_generation", record)
    return sent


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", password="pw-bob-123")


@pytest.mark.django_db(transaction=True)
def test_start_stores_question_and_queued_answer_before_sending(alice, bundled_model, sent_tasks):
    conversation = services.conversation_start(owner=alice, content="What is 2+2?")
    roles = list(conversation.messages.values_list("role", "status"))
    assert roles == [("user", "done"), ("assistant", "queued")]
    answer = conversation.messages.get(role="assistant")
    assert sent_tasks == [(answer.pk, "model.smollm2")]
    assert conversation.title == "What is 2+2?"
    assert conversation.model == bundled_model


def test_title_is_first_line_shortened(alice, bundled_model, sent_tasks):
    conversation = services.conversation_start(owner=alice, content="word " * 40)
    assert len(conversation.title) <= services.TITLE_LENGTH
    assert conversation.title.endswith("…")


@pytest.mark.parametrize("content", ["", "   \n "])
def test_empty_message_is_rejected(alice, bundled_model, sent_tasks, content):
    with pytest.raises(services.MessageRejected, match="Type a message first"):
        services.conversation_start(owner=alice, content=content)
    assert not Conversation.objects.exists()


def test_too_long_message_is_rejected_with_the_limit(alice, bundled_model, sent_tasks, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "MAX_MESSAGE_CHARS": 10}
    with pytest.raises(services.MessageRejected, match="the limit is 10"):
        services.conversation_start(owner=alice, content="x" * 11)
    assert sent_tasks == []


def test_no_enabled_model_is_a_clear_error(alice, bundled_model, sent_tasks):
    bundled_model.enabled = False
    bundled_model.save()
    with pytest.raises(services.MessageRejected, match="No model is available"):
        services.conversation_start(owner=alice, content="hi")


def test_selectors_hide_other_users_objects(alice, bob, bundled_model, sent_tasks):
    conversation = services.conversation_start(owner=alice, content="secret")
    answer = conversation.messages.get(role="assistant")
    assert list(selectors.conversation_list(user=bob)) == []
    with pytest.raises(Http404):
        selectors.conversation_get(user=bob, id=conversation.pk)
    with pytest.raises(Http404):
        selectors.message_get(user=bob, id=answer.pk)
    assert selectors.conversation_get(user=alice, id=conversation.pk) == conversation


def test_stopping_a_queued_answer_takes_it_out_of_the_queue(alice, bundled_model, sent_tasks):
    conversation = services.conversation_start(owner=alice, content="hi")
    answer = conversation.messages.get(role="assistant")
    services.message_stop(message=answer)
    answer.refresh_from_db()
    assert answer.status == Message.Status.STOPPED
    assert answers.claim(message_id=answer.pk, worker="w") is None


def test_an_answer_is_claimed_once(alice, bundled_model, sent_tasks):
    conversation = services.conversation_start(owner=alice, content="hi")
    answer = conversation.messages.get(role="assistant")
    assert answers.claim(message_id=answer.pk, worker="w1") is not None
    assert answers.claim(message_id=answer.pk, worker="w2") is None
    answer.refresh_from_db()
    assert (answer.status, answer.worker) == ("streaming", "w1")


def test_orphaned_answer_is_failed_with_a_reason(alice, bundled_model, sent_tasks):
    from datetime import timedelta

    from django.utils import timezone

    conversation = services.conversation_start(owner=alice, content="hi")
    answer = conversation.messages.get(role="assistant")
    answers.claim(message_id=answer.pk, worker="gone@nowhere:1")
    Message.objects.filter(pk=answer.pk).update(started_at=timezone.now() - timedelta(minutes=5))
    assert reaper.reap_orphans() == [answer.pk]
    answer.refresh_from_db()
    assert answer.status == Message.Status.FAILED
    assert "worker stopped" in answer.error


def test_an_answer_its_live_worker_let_go_is_failed_and_one_it_writes_is_left(
    alice, bundled_model, sent_tasks
):
    """A worker whose database stayed away longer than it retries drops the answer from
    its beats while it keeps beating: the reaper ends it, with the text Redis holds."""
    from datetime import timedelta

    from django.utils import timezone

    from webui.chat import streambuffer
    from webui.registry import presence

    def beat(name: str, active: list[int], seen: float) -> None:
        presence.beat(
            presence.WorkerBeat(
                name=name,
                host="h",
                model=bundled_model.slug,
                state="ready",
                device="CPU",
                active_messages=active,
                seen=seen,
            )
        )

    written, let_go = [
        services.conversation_start(owner=alice, content=f"hi {n}").messages.get(role="assistant")
        for n in (1, 2)
    ]
    answers.claim(message_id=written.pk, worker="busy@here:1")
    answers.claim(message_id=let_go.pk, worker="gave-up@here:2")
    long_ago = timezone.now() - timedelta(minutes=5)
    Message.objects.filter(pk__in=[written.pk, let_go.pk]).update(started_at=long_ago)
    streambuffer.append(let_go.pk, "The whole answer.")
    try:
        # A beat from before the claim says nothing about the answer: left alone.
        beat("gave-up@here:2", [], long_ago.timestamp() - 1)
        beat("busy@here:1", [written.pk], presence.now())
        assert reaper.reap_orphans() == []
        beat("gave-up@here:2", [], presence.now())
        assert reaper.reap_orphans() == [let_go.pk]
    finally:
        presence.forget("busy@here:1")
        presence.forget("gave-up@here:2")
        streambuffer.forget(let_go.pk)
    let_go.refresh_from_db()
    assert (let_go.status, let_go.content) == (Message.Status.FAILED, "The whole answer.")
    assert "could not store this answer's end" in let_go.error
    written.refresh_from_db()
    assert written.status == Message.Status.STREAMING


def test_stop_reaches_an_answer_claimed_after_it_was_read(alice, bundled_model, sent_tasks):
    from webui.chat import streambuffer

    conversation = services.conversation_start(owner=alice, content="hi")
    stale = conversation.messages.get(role="assistant")  # read while still queued
    answers.claim(message_id=stale.pk, worker="w")
    services.message_stop(message=stale)
    assert streambuffer.stop_requested(stale.pk)


def test_a_worker_claims_only_an_answer_for_its_own_model(alice, bundled_model, sent_tasks):
    conversation = services.conversation_start(owner=alice, content="hi")
    answer = conversation.messages.get(role="assistant")
    other = "not-" + bundled_model.slug
    assert answers.claim(message_id=answer.pk, worker="w", model_slug=other) is None
    answer.refresh_from_db()
    assert answer.status == Message.Status.QUEUED  # left for a worker of its model
    claimed = answers.claim(message_id=answer.pk, worker="w", model_slug=bundled_model.slug)
    assert claimed is not None and claimed.worker == "w"


def test_an_answer_whose_model_is_gone_is_claimed_by_any_worker(alice, bundled_model, sent_tasks):
    conversation = services.conversation_start(owner=alice, content="hi")
    answer = conversation.messages.get(role="assistant")
    Message.objects.filter(pk=answer.pk).update(model=None)
    assert answers.claim(message_id=answer.pk, worker="w", model_slug="any") is not None
