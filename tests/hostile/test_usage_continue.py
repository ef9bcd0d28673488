"""Continue is usage: every token the worker writes counts, in reports and against limits."""

import pytest

from tests.conftest import wait_for
from tests.hostile.tally import tried
from tests.streams import make_user
from webui.chat import message_actions, services
from webui.chat.models import Conversation, Message
from webui.chat.services import MessageRejected
from webui.team import limits
from webui.team.models import Limit, UsageRecord

pytestmark = [
    pytest.mark.hostile,
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.postgresql,
]


def _cut(answer: Message, previous_tokens: int = 0) -> Message:
    return wait_for(
        lambda: Message.objects.filter(
            pk=answer.pk,
            status="done",
            finish_reason="length",
            completion_tokens__gt=previous_tokens,
        ).first(),
        timeout=180,
        message="the answer to be cut at its length",
    )


def test_continued_answers_count_every_token_and_request(live_worker, bundled_model):
    alice = make_user("alice")
    conversation = Conversation.objects.create(
        owner=alice, title="Sea", model=bundled_model, max_tokens=8, temperature=0.0
    )
    _, answer = services.message_send(
        conversation=conversation, content="Tell me a long story about the sea."
    )
    first = _cut(answer)
    assert first.completion_tokens == 8
    wait_for(lambda: UsageRecord.objects.filter(message_id=answer.pk).exists())
    used = limits.tokens_today(alice)
    # One token left: enough to continue, and the continued part goes past it.
    Limit.objects.create(user=alice, tokens_per_day=used + 1)

    message_actions.message_continue(message=first)
    tried("input")
    second = _cut(answer, previous_tokens=8)
    assert second.completion_tokens == 16 and second.content.startswith(first.content)
    rows = UsageRecord.objects.filter(message_id=answer.pk).order_by("id")
    wait_for(lambda: rows.count() >= 2, timeout=10, message="the continued part's record")
    records = list(rows)
    assert len(records) == 2
    assert sum(r.completion_tokens for r in records) == second.completion_tokens
    assert sum(r.requests for r in records) == 2
    assert records[1].prompt_tokens == second.prompt_tokens > first.prompt_tokens
    assert limits.tokens_today(alice) == used + records[1].prompt_tokens + 8

    with pytest.raises(MessageRejected, match=f"used your {used + 1:,} tokens for today"):
        services.message_send(conversation=conversation, content="And about rivers?")
    with pytest.raises(MessageRejected, match="tokens for today"):
        message_actions.message_continue(message=second)
