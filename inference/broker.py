"""Kombu's Redis transport, made to survive a Redis restart under a running answer.

When the broker connection drops while a task runs (Redis restarted), kombu 5.7 closes the
channel and then, on the torn-down connection, (1) puts the worker's unacknowledged
messages back in the queue and (2) acknowledges the running task when it ends. Both need
a connection that is gone: they raise AttributeError, Celery calls that an unrecoverable
error and the worker shuts down. Homefire needs neither:

- A worker runs every task it receives at once (prefetch 1 per thread), and the reaper
  sends again the task of an answer still queued when its holder is gone
  (webui/chat/stranded.py). Restoring would also queue an answer being written twice.
- An acknowledgement for a closed connection has nothing left to remove: the restarted
  Redis lost the record, or its visibility timeout hands the message back, and then the
  answer's claim guard makes the copy a no-op that is acknowledged.
"""

import logging

from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    restore_at_shutdown = False

    def ack(self, delivery_tag):
        if getattr(self.channel.connection, "client", None) is None:
            log.warning(
                "broker connection was reset; task %s needs no acknowledgement", delivery_tag
            )
            # The bookkeeping only: what the Redis transport would remove is gone with it.
            super(kombu_redis.QoS, self).ack(delivery_tag)
            return
        super().ack(delivery_tag)


def install() -> None:
    kombu_redis.Channel.QoS = QoS
