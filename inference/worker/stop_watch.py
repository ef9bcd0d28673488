"""Whether Stop was pressed, for every answer a worker is writing, heard at once.

Stop sets a flag in Redis and announces it on a pub/sub channel (streambuffer.request_stop).
One thread per worker listens there, blocked until a stop comes; an answer's should_stop
only reads what it heard, so the decoder can ask it before every step.

Listening, not polling: a poll wakes a thread and Redis while the model decodes on every
core, and the decode waits for them (docs/decisions/worker-stop-watch.md). Listening costs
nothing between stops, and a stop takes effect at the next step.

The flags stay the truth: each answer is asked about as its watch begins, and every
watched answer is asked about at once whenever the listener (re)subscribes, and every
POLL_SECONDS in case an announcement was lost.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis

from webui.chat import streambuffer
from webui.core.redis import client, keys

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
# After Redis was found away: wait this long before listening again.
RETRY_SECONDS = 1.0


class StopWatch:
    def __init__(self, poll_seconds: float = POLL_SECONDS):
        self.poll_seconds = poll_seconds
        self.watched: set[int] = set()
        self.stopped: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # subscribed, and every flag read since

    @contextmanager
    def watching(self, message_id: int) -> Iterator[Callable[[], bool]]:
        """Watch this answer while the block runs; yield its should_stop, which never
        waits. Watched before it is asked about alone: a stop announced in between is
        heard, one made before is found."""
        with self._lock:
            self.watched.add(message_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stop-watch", daemon=True)
                self._thread.start()
        try:
            stopped = streambuffer.stop_requested(message_id)
        except redis.RedisError:  # nobody can press Stop while Redis is away
            stopped = False
        if stopped:
            self._stop({message_id})
        try:
            yield lambda: message_id in self.stopped
        finally:
            with self._lock:
                self.watched.discard(message_id)
                self.stopped.discard(message_id)

    def poll(self) -> None:
        """Ask Redis once about every watched answer; while Redis is away, nobody could
        press Stop, and nothing changes."""
        with self._lock:
            ids = list(self.watched)
        if not ids:
            return
        try:
            flags = streambuffer.stops_requested(ids)
        except redis.RedisError:
            return
        self._stop({i for i, flag in zip(ids, flags, strict=True) if flag})

    def heard(self, data: bytes | str) -> None:
        """One announcement from the stops channel."""
        try:
            self._stop({int(data)})
        except ValueError:
            log.warning("stop watch: ignored %r on the stops channel", data)

    def _stop(self, ids: set[int]) -> None:
        with self._lock:
            self.stopped |= ids & self.watched

    def _run(self) -> None:
        while True:  # never let the watch die: Stop would stop working
            try:
                self.listen()
            except redis.RedisError as exc:
                log.warning("stop watch: Redis is away (%s); listening again soon", exc)
            except Exception:
                log.exception("stop watch: listening failed")
            time.sleep(RETRY_SECONDS)

    def listen(self, until: Callable[[], bool] = lambda: False) -> None:
        """Subscribe, ask about every watched answer, then take announcements as they come."""
        pubsub = client().pubsub()
        try:
            pubsub.subscribe(keys.stops_channel())
            # Subscribed once Redis says so: from then on no stop goes unheard.
            while (message := pubsub.get_message(timeout=self.poll_seconds)) is None:
                pass
            polled = time.monotonic()
            self.poll()
            self.listening.set()
            while not until():
                left = max(polled + self.poll_seconds - time.monotonic(), 0.0)
                message = pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
                if message is not None:
                    self.heard(message["data"])
                if time.monotonic() - polled >= self.poll_seconds:
                    polled = time.monotonic()
                    self.poll()
        finally:
            self.listening.clear()
            pubsub.close()


stop_watch = StopWatch()
