"""Send one answer's text, as it is written, to Redis and every open view (and its logprobs,
where it asked for them, to Redis with the text)."""

import logging
import threading
import time
from contextlib import contextmanager

import redis
from django.db import DatabaseError, close_old_connections

from inference.engine.contract import Figures
from inference.worker.start_notice import StartNotice
from webui.chat import answers, broadcast, events, streambuffer
from webui.chat.models import Message

log = logging.getLogger(__name__)

# Coalesce chunks before sending, so that the path to the browser costs next to nothing
# beside decoding; the first chunk goes at once for time to first token. Each send costs
# the worker, Redis and the web server a little, and with many answers streaming at once
# that cost comes out of decoding: the interval grows with them, up to a cap.
FLUSH_SECONDS = 0.05
FLUSH_SECONDS_MAX = 0.15
# Save progress to the database this often, so a reload without Redis still shows it.
SAVE_SECONDS = 2.0


class _Streaming:
    """How many answers this process is streaming now (each in its own worker thread)."""

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()

    @contextmanager
    def one(self):
        with self._lock:
            self.count += 1
        try:
            yield
        finally:
            with self._lock:
                self.count -= 1


streaming = _Streaming()


def flush_interval(count: int) -> float:
    """How long to coalesce chunks while this many answers stream from this worker."""
    return min(FLUSH_SECONDS * max(count, 1), FLUSH_SECONDS_MAX)


class Streamer:
    """Buffers chunks of one answer and sends them to Redis and every open view."""

    def __init__(self, message: Message, notice: StartNotice, figures: Figures | None = None):
        self.message = message
        # The answer's figures, whose logprobs entries the decoder appends as it goes.
        self.figures = figures or Figures()
        self.logprobs_sent = 0  # how many of them are in Redis
        # Sent once the first text is out (see inference.worker.start_notice).
        self.notice = notice
        self.parts: list[str] = []
        self.pending: list[str] = []
        self.last_flush = 0.0
        # How long to gather text before the next send, fixed at each send; the model
        # paces the text it hands over by it too (model.stream's `every`).
        self.interval = FLUSH_SECONDS
        self.last_save = time.monotonic()
        self.buffered = 0  # bytes of the text in the Redis buffer

    def resume_from(self, text: str) -> None:
        """Start from an answer's earlier text, put back in its buffer for views to read."""
        streambuffer.replace(self.message.pk, text)
        self.parts = [text]
        self.buffered = len(text.encode())

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pending.append(chunk)
        now = time.monotonic()
        if now - self.last_flush >= self.interval:
            self.flush(now)
        if now - self.last_save >= SAVE_SECONDS:
            self.last_save = now
            self._save_progress()

    def _save_progress(self) -> None:
        """Save the text so far. With the database away (a restart) the answer goes on:
        the next save, or its end (tried again until the database is back), stores it."""
        try:
            answers.progress(message_id=self.message.pk, content=self.text)
        except DatabaseError as exc:
            log.warning("answer %s: progress not saved (%s)", self.message.pk, exc)
            close_old_connections()  # the broken connection goes; the next save opens one

    def flush(self, now: float | None = None) -> None:
        """Send what is pending; if Redis is away, keep it and try again at the next flush.

        If Redis lost the buffer (restarted without its data), write the whole text again
        and have every view redraw the answer from it, so that no view misses a part.
        """
        self.last_flush = now or time.monotonic()
        self.interval = flush_interval(streaming.count)
        # Taken after the text: the decoder adds a token's entry before its text, so these
        # cover all of it (and maybe a token whose text comes at the next flush).
        chunk = "".join(self.pending)
        sent = len(self.figures.logprobs)
        logprobs = self.figures.logprobs[self.logprobs_sent : sent]
        if not chunk and not logprobs:
            return
        delta = events.message_delta(self.message.pk, self.buffered, chunk) if chunk else None
        # Published with the text where the channel layer allows: one Redis round trip
        # for both. If the buffer turns out lost, views that hold everything before this
        # chunk append it correctly, and the message_changed below redraws the rest.
        packed = delta and broadcast.packed_for_conversation(self.message.conversation_id, delta)
        try:
            offset = streambuffer.append(self.message.pk, chunk, publish=packed, logprobs=logprobs)
            self.pending = []
            self.logprobs_sent = sent
            if offset == self.buffered:
                event = None if packed else delta
            else:
                log.warning(
                    "answer %s: its stream buffer was lost; writing it again", self.message.pk
                )
                streambuffer.replace(
                    self.message.pk, self.text, logprobs=self.figures.logprobs[:sent] or None
                )
                event = events.message_changed(self.message.pk)
            self.buffered = len(self.text.encode())
        except redis.RedisError:
            log.warning("answer %s: Redis does not answer; keeping the text", self.message.pk)
            return
        self.notice.now()
        if event is None:
            return
        try:
            broadcast.to_conversation(self.message.conversation_id, event)
        except Exception:  # views catch up from the buffer once the channel layer is back
            log.warning("answer %s: could not reach the open views", self.message.pk)
