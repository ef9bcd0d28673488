"""An answer's text in Redis goes with its conversation or account, by every way of deleting.

Buffers and stop flags are written as a worker writes them (webui.chat.streambuffer) in the
real Redis; each test deletes as a member, the retention purge or an admin does, then reads
Redis. Another member's buffer stays: the deletion takes only what it deleted.
"""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tests.conftest import wait_for
from tests.hostile.conftest import make_user
from tests.hostile.tally import tried
from webui.accounts.deletion import delete_account
from webui.chat import answers, message_actions, retention, services, streambuffer
from webui.chat.models import Conversation, Message
from webui.core.redis import client, keys
from webui.registry.presence import live_workers

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True), pytest.mark.postgresql]


def buffered_conversation(owner, model, text: str = "the answer, word by word") -> Conversation:
    """A conversation whose messages have text and a stop flag in Redis, as a worker leaves
    them once it finished (stopped) an answer."""
    conversation = services.conversation_start(owner=owner, content="a question", model=model)
    for message in conversation.messages.all():
        streambuffer.append(message.pk, f"{text} ({owner.username})")
        streambuffer.request_stop(message.pk)
    conversation.messages.filter(role="assistant").update(status=Message.Status.STOPPED)
    return conversation


def redis_keys(conversation_or_ids) -> list[str]:
    """The stream and stop keys that still exist for these messages."""
    if isinstance(conversation_or_ids, Conversation):
        ids = list(conversation_or_ids.messages.values_list("pk", flat=True))
    else:
        ids = list(conversation_or_ids)
    names = [name for i in ids for name in (keys.stream(i), keys.stop(i))]
    return [name for name in names if client().exists(name)]


@pytest.fixture
def bystander(quick_model):
    """Another member's conversation, buffered: it must survive every deletion here."""
    conversation = buffered_conversation(make_user("betty"), quick_model)
    before = redis_keys(conversation)
    assert len(before) == 4
    yield conversation
    assert redis_keys(conversation) == before


@pytest.fixture
def alice_conversation(quick_model):
    conversation = buffered_conversation(make_user("alice"), quick_model)
    ids = list(conversation.messages.values_list("pk", flat=True))
    assert len(redis_keys(ids)) == 2 * len(ids)
    return conversation, ids


def test_deleting_a_conversation_deletes_its_buffers(alice_conversation, bystander):
    conversation, ids = alice_conversation
    tried("access")

    services.conversation_delete(conversation=conversation)

    assert redis_keys(ids) == []


def test_deleting_a_message_deletes_its_buffer(alice_conversation, bystander):
    conversation, ids = alice_conversation
    answer = conversation.messages.get(role="assistant")
    tried("access")

    message_actions.message_delete(message=answer)

    assert redis_keys([answer.pk]) == []
    question = conversation.messages.get(role="user")
    assert redis_keys([question.pk]) == [keys.stream(question.pk), keys.stop(question.pk)]


def test_the_retention_purge_deletes_buffers(alice_conversation, bystander):
    conversation, ids = alice_conversation
    Message.objects.filter(pk__in=ids).update(status=Message.Status.DONE)
    old = timezone.now() - timedelta(days=40)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=old)
    tried("access")

    assert retention.purge_old_conversations(days=30) == 1

    assert redis_keys(ids) == []


def test_deleting_an_account_deletes_its_buffers(alice_conversation, quick_model, bystander):
    conversation, ids = alice_conversation
    second = buffered_conversation(conversation.owner, quick_model, "a second conversation")
    ids += list(second.messages.values_list("pk", flat=True))
    tried("access")

    delete_account(conversation.owner)

    assert redis_keys(ids) == []


@pytest.mark.parametrize("what", ["conversation", "message", "user"])
def test_an_admins_delete_deletes_buffers(what, alice_conversation, bystander, admin_client):
    conversation, ids = alice_conversation
    target = {
        "conversation": ("chat", "conversation", conversation.pk),
        "message": ("chat", "message", ids[-1]),
        "user": ("auth", "user", conversation.owner_id),
    }[what]
    app, model, pk = target
    tried("access")

    response = admin_client.post(reverse(f"admin:{app}_{model}_delete", args=[pk]), {"post": "yes"})

    assert response.status_code == 302, response.content[:500]
    gone = ids if what != "message" else ids[-1:]
    assert redis_keys(gone) == []


def test_deleting_an_answer_being_written_stops_its_worker_and_drops_its_text(
    quick_model, bystander, admin_client
):
    """Even where no service stopped it first (admin): the text goes, the worker hears Stop,
    and the stop flag (no text) stays for a worker that missed the announcement."""
    conversation = services.conversation_start(
        owner=make_user("wendy"), content="a question", model=quick_model
    )
    answer = conversation.messages.get(role="assistant")
    answers.claim(message_id=answer.pk, worker="w@box:1")
    streambuffer.append(answer.pk, "half an answer")
    listener = client().pubsub()
    listener.subscribe(keys.stops_channel())
    assert listener.get_message(timeout=5)["type"] == "subscribe"
    tried("access")

    response = admin_client.post(
        reverse("admin:chat_conversation_delete", args=[conversation.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert redis_keys([answer.pk]) == [keys.stop(answer.pk)]
    assert streambuffer.stop_requested(answer.pk)
    heard = listener.get_message(ignore_subscribe_messages=True, timeout=5)
    listener.close()
    assert heard is not None and heard["data"] == str(answer.pk).encode()


def test_an_admins_bulk_delete_of_users_deletes_their_buffers(
    alice_conversation, quick_model, bystander, admin_client
):
    conversation, ids = alice_conversation
    other = buffered_conversation(make_user("otto"), quick_model)
    ids += list(other.messages.values_list("pk", flat=True))
    tried("access")

    admin_client.post(
        reverse("admin:auth_user_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [conversation.owner_id, other.owner_id],
            "post": "yes",
        },
    )

    assert not Conversation.objects.filter(pk__in=[conversation.pk, other.pk]).exists()
    assert redis_keys(ids) == []


def test_a_rolled_back_deletion_keeps_the_buffers(alice_conversation, bystander):
    """Keys go once the rows are gone for good: a deletion rolled back keeps them."""
    conversation, ids = alice_conversation
    with pytest.raises(RuntimeError), transaction.atomic():
        Conversation.objects.get(pk=conversation.pk).delete()
        raise RuntimeError("rolled back")
    assert len(redis_keys(ids)) == 2 * len(ids)

    services.conversation_delete(conversation=conversation)

    assert redis_keys(ids) == []


@pytest.mark.worker
def test_deleting_a_conversation_mid_answer_leaves_nothing_in_redis(bundled_model, live_worker):
    """The worker writes its last chunk after the deletion: that is dropped too."""
    bundled_model.max_tokens = 200
    bundled_model.save()
    owner = make_user("walter")
    conversation = services.conversation_start(
        owner=owner, content="Tell me a long story about a lighthouse.", model=bundled_model
    )
    answer = conversation.messages.get(role="assistant")
    wait_for(
        lambda: len(streambuffer.read(answer.pk)) > 20,
        timeout=120,
        message="the answer to stream",
    )
    tried("faults")

    services.conversation_delete(conversation=conversation)

    def ended() -> bool:
        return all(answer.pk not in w.active_messages for w in live_workers())

    wait_for(ended, timeout=60, message="the worker to end the deleted answer")
    time.sleep(1)  # a heartbeat or two: anything the worker had left to write is written
    # No text. A stop flag (no text) may stay a minute where the answer ended on its own
    # just as it was deleted (the deletion read it streaming): never longer.
    left = redis_keys([answer.pk])
    assert left in ([], [keys.stop(answer.pk)]), left
    for name in left:
        assert 0 < client().ttl(name) <= streambuffer.DELETED_STOP_SECONDS
