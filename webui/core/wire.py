"""Every private format of another library that Homefire reads or writes, in one place.

- channels_redis's pub/sub layer: a group is the Redis channel `<prefix>__group__<group>`,
  and an event travels as the layer serialises it. The worker publishes a conversation's
  events itself, in the same Redis transaction as the text they announce.
- kombu's Redis transport: a queue is a list, with sibling lists for its priorities, of
  JSON messages whose task name and arguments the reaper reads to find lost tasks.
- kombu's QoS, swapped for one that survives a Redis restart under a running task.

They were written against the versions in WRITTEN_FOR; the system check in
webui.core.checks refuses to start on others until this module is checked against them
(tests/webui/core/test_wire.py holds each format to the installed library). The web
server's body limit (webui/ops/webserver.py) hooks Daphne's and Twisted's request
classes: their versions are checked here too (tests/webui/ops/test_webserver.py).
"""

import base64
import json
import logging
from importlib import metadata

log = logging.getLogger(__name__)

WRITTEN_FOR = {"channels-redis": "4.3.0", "kombu": "5.7.0", "daphne": "4.2.3", "twisted": "26.10.0"}
# Where each library's internals are used, for the check's message.
USED_IN = {
    "channels-redis": "webui/core/wire.py",
    "kombu": "webui/core/wire.py",
    "daphne": "webui/ops/webserver.py",
    "twisted": "webui/ops/webserver.py",
}


def installed_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in WRITTEN_FOR}


# channels_redis (channels_redis/pubsub.py: RedisPubSubChannelLayer)

PUBSUB_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"


def group_channel(prefix: str, group: str) -> str:
    """The Redis channel that the pub/sub layer publishes a group's events on."""
    return f"{prefix}__group__{group}"


def serialize_event(layer, event: dict) -> bytes:
    """An event as the pub/sub layer puts it on the wire."""
    return layer.serialize(event)


# kombu's Redis transport (kombu/transport/redis.py: Channel.sep, priority_steps)

PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)


def queue_lists(queue: str) -> list[str]:
    """The Redis lists that hold a queue's waiting messages, one per priority step."""
    return [queue] + [f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS[1:]]


def task_call(raw: bytes) -> tuple[str, list] | None:
    """The task name and positional arguments of a queued message; None if unreadable."""
    try:
        payload = json.loads(raw)
        body = payload["body"]
        if payload.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        name = payload.get("headers", {}).get("task")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if not isinstance(name, str) or not isinstance(args, list):
        return None
    return name, args


# kombu's QoS for the Redis transport


def install_broker_qos() -> None:
    """Make the Redis transport survive a Redis restart under a running task.

    When the broker connection drops while a task runs, kombu closes the channel and then,
    on the torn-down connection, (1) puts the worker's unacknowledged messages back in the
    queue and (2) acknowledges the running task when it ends. Both need the connection
    that is gone: they raise AttributeError, Celery calls that unrecoverable and the
    worker shuts down. Homefire needs neither:

    - A worker runs every task it receives at once (prefetch 1 per thread), and the reaper
      sends again the task of an answer still queued when its holder is gone
      (webui/chat/stranded.py). Restoring would also queue an answer being written twice.
    - An acknowledgement for a closed connection has nothing left to remove: the restarted
      Redis lost the record, or its visibility timeout hands the message back, and then
      the answer's claim guard makes the copy a no-op that is acknowledged.
    """
    from kombu.transport import redis as kombu_redis

    if getattr(kombu_redis.Channel.QoS, "homefire", False):
        return

    class QoS(kombu_redis.QoS):
        homefire = True
        restore_at_shutdown = False

        def ack(self, delivery_tag):
            if getattr(self.channel.connection, "client", None) is None:
                log.warning(
                    "broker connection was reset; task %s needs no acknowledgement",
                    delivery_tag,
                )
                # The bookkeeping only: what the Redis transport would remove is gone.
                super(kombu_redis.QoS, self).ack(delivery_tag)
                return
            super().ack(delivery_tag)

    kombu_redis.Channel.QoS = QoS
