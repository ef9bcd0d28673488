"""Each private format in webui.core.wire, held to the installed library that owns it."""

import asyncio
import threading
import time
import uuid

import redis
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.core import checks

from webui.core import wire


def test_a_group_is_the_channel_the_pubsub_layer_publishes_on():
    layer = RedisPubSubChannelLayer(hosts=[settings.REDIS_URL], prefix="wiretest")
    listener = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    group, event = f"g{uuid.uuid4().hex}", {"type": "chat.test", "n": 1}
    pubsub.subscribe(wire.group_channel("wiretest", group))
    try:
        # In a thread of its own: the browser tests leave an event loop running in this one.
        sender = threading.Thread(target=asyncio.run, args=(layer.group_send(group, event),))
        sender.start()
        sender.join(timeout=10)
        deadline = time.monotonic() + 3
        message = None
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.2)
        assert message is not None, "the layer published the group elsewhere"
        assert message["data"] == wire.serialize_event(layer, event)
        assert layer.deserialize(message["data"]) == event
    finally:
        pubsub.close()
        listener.close()


def test_a_sent_task_waits_in_the_lists_named_for_its_queue_and_reads_back():
    from webui.celery import app

    queue = f"wiretest.{uuid.uuid4().hex}"
    conn = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        app.send_task("wire.test_task", args=[41, "x"], queue=queue)
        app.send_task("wire.test_task", args=[42], queue=queue, priority=5)
        waiting = [raw for name in wire.queue_lists(queue) for raw in conn.lrange(name, 0, -1)]
        calls = sorted(wire.task_call(raw) for raw in waiting)
        assert calls == [("wire.test_task", [41, "x"]), ("wire.test_task", [42])]
    finally:
        conn.delete(*wire.queue_lists(queue))
    assert wire.task_call(b"not json") is None
    assert wire.task_call(b'{"body": "e30=", "headers": {}}') is None


def test_the_celery_app_runs_with_the_qos_that_survives_a_redis_restart():
    from kombu.transport import redis as kombu_redis

    import webui.celery  # noqa: F401

    assert getattr(kombu_redis.Channel.QoS, "homefire", False)
    assert kombu_redis.Channel.QoS.restore_at_shutdown is False


def test_the_system_check_passes_on_the_versions_the_formats_were_written_for(monkeypatch):
    from webui.core.checks import wire_formats_match_installed_libraries

    assert wire_formats_match_installed_libraries() == []
    monkeypatch.setitem(wire.WRITTEN_FOR, "kombu", "0.0.1")
    errors = wire_formats_match_installed_libraries()
    assert [error.id for error in errors] == ["homefire.E001"]
    assert "kombu" in errors[0].msg and isinstance(errors[0], checks.Error)
