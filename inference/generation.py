"""The generation loop: from a queued answer to a finished one, streaming on the way."""

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

import redis

from inference.engine import Figures, PromptTooLong, Sampling, TextModel
from inference.start_notice import StartNotice
from inference.stop_watch import stop_watch
from webui.chat import broadcast, events, services, streambuffer, versions
from webui.chat.conversation_settings import effective, max_tokens_bound
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


def flush_interval(answers: int) -> float:
    """How long to coalesce chunks while this many answers stream from this worker."""
    return min(FLUSH_SECONDS * max(answers, 1), FLUSH_SECONDS_MAX)


class _Streamer:
    """Buffers chunks of one answer and sends them to Redis and every open view."""

    def __init__(self, message: Message, notice: StartNotice):
        self.message = message
        # Sent once the first text is out (see inference.start_notice).
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
            services.generation_progress(message_id=self.message.pk, content=self.text)

    def flush(self, now: float | None = None) -> None:
        """Send what is pending; if Redis is away, keep it and try again at the next flush.

        If Redis lost the buffer (restarted without its data), write the whole text again
        and have every view redraw the answer from it, so that no view misses a part.
        """
        self.last_flush = now or time.monotonic()
        self.interval = flush_interval(streaming.count)
        if not self.pending:
            return
        chunk = "".join(self.pending)
        delta = events.message_delta(self.message.pk, self.buffered, chunk)
        # Published with the text where the channel layer allows: one Redis round trip
        # for both. If the buffer turns out lost, views that hold everything before this
        # chunk append it correctly, and the message_changed below redraws the rest.
        packed = broadcast.packed_for_conversation(self.message.conversation_id, delta)
        try:
            offset = streambuffer.append(self.message.pk, chunk, publish=packed)
            self.pending = []
            if offset == self.buffered:
                event = None if packed else delta
            else:
                log.warning(
                    "answer %s: its stream buffer was lost; writing it again", self.message.pk
                )
                streambuffer.replace(self.message.pk, self.text)
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


def history_for(message: Message) -> list[dict]:
    """The conversation up to this answer, as chat-template messages.

    Only the messages this answer follows: the chosen version of each, never those of
    other branches (see webui.chat.versions). Failed or unfinished answers are left out.
    """
    rows = list(
        Message.objects.filter(conversation_id=message.conversation_id)
        .order_by("created_at", "id")
        .only("id", "role", "content", "status", "parent_id", "version_of_id", "shown")
    )
    skipped = {*Message.ACTIVE_STATUSES, Message.Status.FAILED}
    history = [
        {"role": m.role, "content": m.content}
        for m in versions.ancestors(message, rows)
        if m.content and not (m.role == Message.Role.ASSISTANT and m.status in skipped)
    ]
    system_prompt = message.conversation.system_prompt.strip()
    return ([{"role": "system", "content": system_prompt}] if system_prompt else []) + history


def sampling_for(message: Message) -> Sampling:
    """The answer's own settings (the API's, validated), else its conversation's, else its
    model's defaults; never past the bounds the admin set for the model."""
    chosen = message.sampling or {}
    model = message.model
    if model is None:
        defaults = Sampling()
        temperature_max, max_tokens = 2.0, defaults.max_tokens
    else:
        defaults = effective(message.conversation, model)
        temperature_max, max_tokens = model.temperature_max, max_tokens_bound(model)
    return Sampling(
        temperature=min(chosen.get("temperature", defaults.temperature), temperature_max),
        top_p=min(chosen.get("top_p", defaults.top_p), 1.0),
        max_tokens=min(chosen.get("max_tokens", defaults.max_tokens), max_tokens),
        stop=list(chosen.get("stop", [])),
        seed=chosen.get("seed"),
    )


def generate_reply(
    message_id: int,
    *,
    model: TextModel,
    worker_name: str,
    model_slug: str | None = None,
    arrival: tuple[int, int] = (0, 0),
    started: Callable[[], None] | None = None,
) -> str | None:
    """Generate one queued answer; return its final status, or None if it was not ours
    (gone, stopped, taken already, or for another model than `model_slug`).

    `started` is called once the answer's first text is out, or after a while without.
    """
    message = services.generation_claim(
        message_id=message_id, worker=worker_name, model_slug=model_slug
    )
    if message is None:
        return None
    streamer = _Streamer(message, StartNotice(message, also=started))
    figures = Figures()
    sampling = sampling_for(message)
    # A claimed answer that has text already was cut at its length limit and is being
    # continued: the model goes on from that text, and the answer grows.
    earlier_text, earlier_tokens = message.content, message.completion_tokens or 0
    try:
        if message.sampling.get("raw"):
            prompt = model.build_raw_prompt(
                history_for(message)[-1]["content"], sampling.max_tokens
            )
        elif earlier_text:
            streamer.resume_from(earlier_text)
            prompt = model.build_prompt(
                history_for(message), sampling.max_tokens, answer_prefix=earlier_text
            )
        else:
            prompt = model.build_prompt(history_for(message), sampling.max_tokens)
        conversation = message.conversation
        with streaming.one(), stop_watch.watching(message_id) as should_stop:
            for chunk in model.stream(
                prompt,
                sampling,
                figures,
                should_stop=should_stop,
                user=str(conversation.owner_id),
                priority=1 if conversation.source == conversation.Source.API else 0,
                every=lambda: streamer.interval,
                arrival=arrival,
            ):
                streamer.add(chunk)
        streamer.flush()
        figures.completion_tokens += earlier_tokens
    except PromptTooLong as exc:
        return _finish(message, streamer, figures, Message.Status.FAILED, str(exc))
    except Exception as exc:
        log.exception("answer %s failed", message_id)
        streamer.flush()
        reason = f"The model failed while answering ({type(exc).__name__}). Try again."
        return _finish(message, streamer, figures, Message.Status.FAILED, reason)
    status = Message.Status.STOPPED if figures.finish_reason == "stopped" else Message.Status.DONE
    return _finish(message, streamer, figures, status, truncated=prompt.dropped_turns)


def _finish(message, streamer, figures, status, error="", truncated=0) -> str:
    streamer.notice.cancel()
    services.generation_finish(
        message=message,
        content=streamer.text,
        status=status,
        error=error,
        prompt_tokens=figures.prompt_tokens or None,
        completion_tokens=figures.completion_tokens,
        ttft_ms=figures.ttft_ms,
        tokens_per_second=figures.tokens_per_second,
        truncated_turns=truncated,
        finish_reason=figures.finish_reason if status != Message.Status.FAILED else "",
    )
    log.info(
        "answer %s %s",
        message.pk,
        status,
        extra={
            "message_id": message.pk,
            "worker": message.worker,
            "model": message.model.slug if message.model else None,
            "status": str(status),
            "prompt_tokens": figures.prompt_tokens or None,
            "completion_tokens": figures.completion_tokens,
            "ttft_ms": figures.ttft_ms,
            "tokens_per_second": figures.tokens_per_second,
        },
    )
    return status
