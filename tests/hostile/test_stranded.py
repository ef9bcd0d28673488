"""Queued answers whose task was lost, and the Celery settings that keep tasks from looping.

Real Redis (the broker's own lists) and the real database; no worker: these decide what
the reaper does with a queued answer, by where its task is.
"""

import base64
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tests.hostile.tally import tried
from webui.celery import app
from webui.chat import dispatch, reaper, stranded, streambuffer
from webui.chat.models import Conversation, Message
from webui.registry import presence
from webui.registry.models import LLMModel

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def idle_model(quick_model):
    """quick_model's queue, emptied: the tests read what lands in it."""
    streambuffer.client().delete(quick_model.queue_name)
    yield quick_model
    streambuffer.client().delete(quick_model.queue_name)


def _queued_answer(owner, model, *, age: float) -> Message:
    conversation = Conversation.objects.create(owner=owner, model=model, title="t")
    Message.objects.create(conversation=conversation, role="user", content="hello")
    answer = Message.objects.create(
        conversation=conversation, role="assistant", status="queued", model=model
    )
    Message.objects.filter(pk=answer.pk).update(queued_at=timezone.now() - timedelta(seconds=age))
    return Message.objects.get(pk=answer.pk)


def _tasks_in(queue: str) -> list[dict]:
    tasks = []
    for raw in streambuffer.client().lrange(queue, 0, -1):
        payload = json.loads(raw)
        body = json.loads(base64.b64decode(payload["body"]))
        tasks.append({"args": body[0], **payload["headers"]})
    return tasks


def _beat(name: str, model: str, state: str, error: str = "") -> None:
    presence.beat(
        presence.WorkerBeat(
            name=name,
            host="h",
            model=model,
            state=state,
            device="CPU",
            active_messages=[],
            seen=presence.now(),
            error=error,
        )
    )


OLD = 60.0  # seconds: well past the test run's heartbeat timeout


def test_celery_is_pinned_to_late_acks_prefetch_one_json_and_no_redelivery_loop():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    assert conf.task_ignore_result is True
    # A task whose worker died is not handed back at once to run again (the reaper
    # decides), and a long answer is not handed out again while it runs.
    assert conf.task_reject_on_worker_lost is False
    assert conf.broker_transport_options["visibility_timeout"] >= 3600
    assert settings.CELERY_BROKER_URL == settings.REDIS_URL


def test_a_generation_task_expires_a_lifetime_after_its_answer_was_sent(owned, idle_model):
    answer = _queued_answer(owned.alice, idle_model, age=0)
    dispatch.enqueue_generation(
        message_id=answer.pk, queue=idle_model.queue_name, queued_at=answer.queued_at
    )
    (task,) = _tasks_in(idle_model.queue_name)
    assert task["task"] == dispatch.GENERATE_TASK and task["args"] == [answer.pk]
    expires = timezone.datetime.fromisoformat(task["expires"])
    assert abs((expires - answer.queued_at) - dispatch.QUEUE_LIFETIME) < timedelta(seconds=1)
    assert stranded.queued_message_ids(idle_model.queue_name) == {answer.pk}


def test_answer_held_by_a_dead_worker_is_sent_again_once(owned, idle_model):
    answer = _queued_answer(owned.alice, idle_model, age=OLD)
    stranded.record_held(answer.pk, "killed@host:1")  # no heartbeat: dead
    tried("faults")

    reaper.reap_orphans()
    reaper.reap_orphans()  # the copy now waits in the queue: not sent a third time

    tasks = _tasks_in(idle_model.queue_name)
    assert [t["args"] for t in tasks] == [[answer.pk]]
    # The copy keeps the first task's expiry: resending never extends an answer's life.
    expires = timezone.datetime.fromisoformat(tasks[0]["expires"])
    assert abs((expires - answer.queued_at) - dispatch.QUEUE_LIFETIME) < timedelta(seconds=1)
    assert not streambuffer.client().exists(stranded.held_key(answer.pk))
    assert Message.objects.get(pk=answer.pk).status == "queued"


def test_two_reapers_that_find_the_same_task_lost_at_once_send_one_copy(
    owned, idle_model, monkeypatch
):
    answer = _queued_answer(owned.alice, idle_model, age=OLD)
    stranded.record_held(answer.pk, "killed@host:1")
    # Both read the queue before either sent its copy (two housekeeping processes).
    monkeypatch.setattr(stranded, "queued_message_ids", lambda queue: set())
    now = timezone.now()

    assert stranded.requeue_lost(now) == [answer.pk]
    assert stranded.requeue_lost(now) == []

    assert [t["args"] for t in _tasks_in(idle_model.queue_name)] == [[answer.pk]]


def test_answer_lost_with_redis_data_is_sent_again(owned, idle_model):
    answer = _queued_answer(owned.alice, idle_model, age=OLD)  # never in any queue
    reaper.reap_orphans()
    assert [t["args"] for t in _tasks_in(idle_model.queue_name)] == [[answer.pk]]


def test_answers_waiting_in_the_queue_or_held_by_a_live_worker_are_left_alone(owned, idle_model):
    waiting = _queued_answer(owned.alice, idle_model, age=OLD)
    dispatch.enqueue_generation(message_id=waiting.pk, queue=idle_model.queue_name)
    held = _queued_answer(owned.alice, idle_model, age=OLD)
    _beat("alive@host:2", idle_model.slug, "busy")
    stranded.record_held(held.pk, "alive@host:2")
    young = _queued_answer(owned.alice, idle_model, age=0)  # its task may be on its way

    reaper.reap_orphans()

    assert [t["args"] for t in _tasks_in(idle_model.queue_name)] == [[waiting.pk]]
    statuses = Message.objects.filter(pk__in=[waiting.pk, held.pk, young.pk])
    assert set(statuses.values_list("status", flat=True)) == {"queued"}
    presence.forget("alive@host:2")


def test_queued_answers_of_a_model_that_failed_to_load_end_with_the_reason(owned, idle_model):
    other = LLMModel.objects.create(name="Other", slug="hostile-other", path=idle_model.path)
    doomed = _queued_answer(owned.alice, idle_model, age=0)
    kept = _queued_answer(owned.alice, other, age=0)
    _beat("big@host:3", idle_model.slug, presence.FAILED, "too big for this machine: 90 GiB")
    _beat("fine@host:4", other.slug, "ready")
    tried("faults")

    assert doomed.pk in reaper.reap_orphans()

    doomed.refresh_from_db()
    assert doomed.status == "failed"
    assert doomed.error == "The model could not be loaded: too big for this machine: 90 GiB"
    assert Message.objects.get(pk=kept.pk).status == "queued"
    # A failed worker does not count as serving its model.
    assert presence.workers_for(idle_model.slug) == []
    assert [w.name for w in presence.workers_for(other.slug)] == ["fine@host:4"]
    presence.forget("big@host:3")
    presence.forget("fine@host:4")


def test_answer_waiting_past_its_tasks_lifetime_fails_with_a_reason(owned, idle_model):
    lifetime = dispatch.QUEUE_LIFETIME.total_seconds()
    answer = _queued_answer(owned.alice, idle_model, age=lifetime + 60)
    reaper.reap_orphans()
    answer.refresh_from_db()
    assert answer.status == "failed" and "No worker took this answer" in answer.error
    assert _tasks_in(idle_model.queue_name) == []  # not sent again


def test_reaper_waits_after_a_redis_restart(owned, idle_model, monkeypatch):
    """Right after a restart no worker has beaten yet: nothing may count as dead."""
    answer = _queued_answer(owned.alice, idle_model, age=OLD)
    stranded.record_held(answer.pk, "maybe-alive@host:5")
    monkeypatch.setattr(reaper, "redis_uptime", lambda: 1)
    assert reaper.reap_orphans() == []
    assert _tasks_in(idle_model.queue_name) == []


def test_reaper_fails_no_stream_when_redis_restarts_during_its_round(
    owned, idle_model, monkeypatch
):
    """Redis restarted between the reaper's first look at its age and its look at a
    worker's heartbeat (the database's queries between take a while): the heartbeat is
    missing because Redis lost it, and the worker, still writing, must keep its answer."""
    answer = _queued_answer(owned.alice, idle_model, age=OLD)
    Message.objects.filter(pk=answer.pk).update(
        status="streaming",
        worker="writing@host:6",
        started_at=timezone.now() - timedelta(seconds=OLD),
    )
    ages = iter([3600])  # Redis's age at the round's start; it then restarted
    monkeypatch.setattr(reaper, "redis_uptime", lambda: next(ages, 0))
    tried("faults")
    assert reaper.reap_orphans() == []
    assert Message.objects.get(pk=answer.pk).status == "streaming"
    # A worker really gone, with Redis up all along, still ends its answer.
    monkeypatch.setattr(reaper, "redis_uptime", lambda: 3600)
    assert reaper.reap_orphans() == [answer.pk]
    assert Message.objects.get(pk=answer.pk).status == "failed"


def test_a_lost_broker_connection_neither_requeues_nor_crashes_on_ack():
    """Restoring and acking on a closed connection crashed the worker when Redis restarted."""
    from kombu import Connection
    from kombu.transport import redis as kombu_redis

    assert kombu_redis.Channel.QoS.restore_at_shutdown is False
    connection = Connection(settings.REDIS_URL)
    channel = connection.channel()
    channel.qos._delivered["tag-1"] = None  # a task received and still running
    connection.close()  # as Celery does on a lost connection, before the task ends
    channel.qos.ack("tag-1")  # no AttributeError: there was nothing left to remove
    assert "tag-1" in channel.qos._dirty  # acknowledged as far as this channel goes
