"""Limits per user and group: refused in chat with a plain reason, 429 in the API."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from tests.streams import make_user
from webui.api.models import ApiKey
from webui.chat.models import Conversation, Message
from webui.chat.standing import standing_of
from webui.team.limits import allowance_for
from webui.team.models import Limit, UsageRecord

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]


def used_today(user, tokens: int, message_id: int = 1) -> UsageRecord:
    return UsageRecord.objects.create(
        message_id=message_id,
        user=user,
        day=timezone.localdate(),
        prompt_tokens=tokens // 2,
        completion_tokens=tokens - tokens // 2,
        gpu_seconds=1.0,
    )


def test_user_value_beats_group_values_which_beat_everyone(db):
    user = make_user("alice")
    small, big = Group.objects.create(name="small"), Group.objects.create(name="big")
    user.groups.add(small, big)
    Limit.objects.create(tokens_per_day=100, max_active=1, requests_per_minute=2)
    assert allowance_for(user).tokens_per_day == 100
    Limit.objects.create(group=small, tokens_per_day=1_000)
    Limit.objects.create(group=big, tokens_per_day=5_000, max_active=3)
    allowance = allowance_for(user)
    assert (allowance.tokens_per_day, allowance.max_active) == (5_000, 3)
    assert allowance.requests_per_minute == 2
    Limit.objects.create(user=user, tokens_per_day=50)
    assert allowance_for(user).tokens_per_day == 50
    root = type(user).objects.create_superuser("root")
    assert allowance_for(root).unlimited


def test_tokens_per_day_refuses_in_chat_with_the_reason(client, idle_model):
    alice = make_user("alice")
    Limit.objects.create(user=alice, tokens_per_day=1_000)
    used_today(alice, 850)
    client.force_login(alice)
    home = client.get("/").content.decode()
    assert "150 of 1,000 tokens left today" in home  # the composer's note near the limit
    used_today(alice, 150, message_id=2)
    response = client.post("/c/new/", {"content": "one more question"})
    assert response.status_code == 400
    assert "used your 1,000 tokens for today" in response.content.decode()
    assert "one more question" in response.content.decode()  # kept in the composer
    assert not Conversation.objects.filter(owner=alice).exists()
    assert not Message.objects.exists()


def test_answers_at_once_and_requests_per_minute(client, idle_model):
    alice = make_user("alice")
    limit = Limit.objects.create(user=alice, max_active=1)
    client.force_login(alice)
    assert client.post("/c/new/", {"content": "first"}).status_code == 302  # queued, no worker
    response = client.post("/c/new/", {"content": "second"})
    assert response.status_code == 400 and "answers in progress" in response.content.decode()
    Message.objects.filter(status="queued").update(status="done")
    limit.max_active, limit.requests_per_minute = None, 2
    limit.save()
    assert client.post("/c/new/", {"content": "second"}).status_code == 302
    response = client.post("/c/new/", {"content": "third"})
    assert response.status_code == 400
    assert "messages in the last minute" in response.content.decode()
    assert Conversation.objects.filter(owner=alice).count() == 2


def test_my_usage_shows_what_remains(client, idle_model):
    alice = make_user("alice")
    Limit.objects.create(user=alice, tokens_per_day=10_000, max_active=2, requests_per_minute=5)
    used_today(alice, 2_500)
    client.force_login(alice)
    page = client.get("/team/my-usage/").content.decode()
    assert "7,500</strong> of 10,000 tokens left today" in page
    assert "2</strong> of 2 answers at once free" in page
    assert "5</strong> of 5 messages left this minute" in page
    standing = standing_of(alice)
    assert standing.tokens_left == 7_500 and not standing.near_limit


def test_a_user_s_counts_come_from_one_query_over_their_own_answers(db, django_assert_num_queries):
    alice, bob = make_user("alice"), make_user("bob")
    Limit.objects.create(user=alice, max_active=5, requests_per_minute=10)
    now = timezone.now()
    mine = Conversation.objects.create(owner=alice, title="mine")
    theirs = Conversation.objects.create(owner=bob, title="theirs")

    def answer(conversation, status: str, seconds_ago: int) -> Message:
        return Message.objects.create(
            conversation=conversation,
            role="assistant",
            status=status,
            queued_at=now - timedelta(seconds=seconds_ago),
        )

    answer(mine, "queued", 5)
    answer(mine, "streaming", 30)
    oldest = answer(mine, "done", 50)
    answer(mine, "done", 90)  # past the minute
    answer(mine, "streaming", 120)  # past the minute, still active
    answer(theirs, "queued", 1)  # another user's
    Message.objects.create(conversation=mine, role="user", content="q", queued_at=now)
    allowance_for(alice)  # the team's policy, kept per process from here on
    with django_assert_num_queries(1):
        standing = standing_of(alice)
    assert (standing.active, standing.last_minute) == (3, 3)
    assert standing.oldest_in_minute == oldest.queued_at


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_api_limit_is_a_429_with_retry_after(client, live_worker, bundled_model):
    alice = make_user("alice")
    Limit.objects.create(user=alice, tokens_per_day=100, requests_per_minute=10)
    used_today(alice, 100)
    _, raw = ApiKey.issue(user=alice, name="k")
    headers = {"Authorization": f"Bearer {raw}"}
    body = {"model": bundled_model.slug, "messages": [{"role": "user", "content": "hi"}]}
    response = client.post(
        "/v1/chat/completions", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and "100 tokens" in error["message"]
    assert 0 < int(response["Retry-After"]) <= 86_401
    assert not Conversation.objects.filter(owner=alice).exists()

    UsageRecord.objects.all().delete()
    limit = Limit.objects.get(user=alice)  # changed as the admin form changes it
    limit.tokens_per_day, limit.requests_per_minute = None, 1
    limit.save()
    conversation = Conversation.objects.create(owner=alice, model=bundled_model)
    Message.objects.create(conversation=conversation, role="assistant", status="done")
    response = client.post(
        "/v1/chat/completions", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 61


def test_admin_refuses_a_second_limit_for_everyone(client, superuser):
    Limit.objects.create(tokens_per_day=100)
    client.force_login(superuser)
    response = client.post("/admin/team/limit/add/", {"tokens_per_day": "5"})
    assert response.status_code == 200 and b"already a limit for everyone" in response.content
    assert Limit.objects.count() == 1
