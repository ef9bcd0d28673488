"""Usage is recorded as each answer finishes, by the worker; a limit reached meanwhile
lets the answer finish whole and refuses the next message."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from tests.conftest import wait_for
from tests.streams import make_user
from webui.chat import answers, services
from webui.chat.models import Conversation, Message
from webui.team.limits import tokens_today
from webui.team.models import Limit, UsageRecord

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]


def test_finishing_an_answer_records_it_once(idle_model):
    alice = make_user("alice")
    group = Group.objects.create(name="writers")
    alice.groups.add(group)
    conversation = services.conversation_start(owner=alice, content="hi", model=idle_model)
    answer = conversation.messages.get(role="assistant")
    started = timezone.now() - timedelta(seconds=2)
    Message.objects.filter(pk=answer.pk).update(status="streaming", started_at=started)
    answer.refresh_from_db()
    for _ in range(2):  # a second finish (a retry) must not count twice
        answers.finish(
            message=answer, content="hello", status="done", prompt_tokens=7, completion_tokens=3
        )
    record = UsageRecord.objects.get()
    assert (record.user, record.model, record.via) == (alice, idle_model, "chat")
    assert (record.prompt_tokens, record.completion_tokens, record.requests) == (7, 3, 1)
    assert 1.5 < record.gpu_seconds < 60
    assert list(record.groups.all()) == [group]
    assert record.day == timezone.localdate()


def test_an_answer_stopped_in_the_queue_is_not_usage(idle_model):
    alice = make_user("alice")
    conversation = services.conversation_start(owner=alice, content="hi", model=idle_model)
    services.message_stop(message=conversation.messages.get(role="assistant"))
    assert not UsageRecord.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_limit_reached_mid_answer_lets_it_finish_and_refuses_the_next(
    client, live_worker, bundled_model
):
    alice = make_user("alice")
    Limit.objects.create(user=alice, tokens_per_day=5)
    client.force_login(alice)
    response = client.post("/c/new/", {"content": "Tell me about the sea."})
    assert response.status_code == 302
    answer = Message.objects.get(role="assistant")
    done = wait_for(
        lambda: Message.objects.filter(pk=answer.pk, status="done").first(),
        timeout=180,
        message="the answer to finish",
    )
    # The answer went past the 5-token limit and still finished whole.
    assert done.content and done.completion_tokens > 5
    record = wait_for(lambda: UsageRecord.objects.filter(message_id=answer.pk).first())
    assert record.completion_tokens == done.completion_tokens
    assert record.prompt_tokens == done.prompt_tokens and record.gpu_seconds > 0
    conversation = Conversation.objects.get()
    refused = client.post("/c/new/", {"content": "And about rivers?"})
    assert refused.status_code == 400
    assert "used your 5 tokens for today" in refused.content.decode()
    assert Conversation.objects.get() == conversation
    assert conversation.messages.count() == 2


def test_each_run_of_a_continued_answer_counts_once(idle_model):
    alice = make_user("alice")
    conversation = services.conversation_start(owner=alice, content="hi", model=idle_model)
    answer = conversation.messages.get(role="assistant")
    runs = [(7, 8), (15, 16), (23, 20)]  # (prompt tokens, completion tokens so far) per run
    for seconds, (prompt_tokens, completion_tokens) in enumerate(runs):
        started = timezone.now() - timedelta(seconds=3 - seconds)
        Message.objects.filter(pk=answer.pk).update(status="streaming", started_at=started)
        claimed = Message.objects.get(pk=answer.pk)  # as the worker claimed it
        for _ in range(2):  # a retried finish of one run counts once
            answers.finish(
                message=claimed,
                content="story",
                status="done",
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
            )
    records = list(UsageRecord.objects.order_by("part"))
    assert [r.part for r in records] == [1, 2, 3]
    assert [(r.prompt_tokens, r.completion_tokens) for r in records] == [(7, 8), (15, 8), (23, 4)]
    assert sum(r.requests for r in records) == 3
    assert {r.message_id for r in records} == {answer.pk}
    assert tokens_today(alice) == 7 + 15 + 23 + 20
