"""The generation loop: from a queued answer to a finished one, streaming on the way."""

import logging
import time

from inference.engine import Figures, PromptTooLong, Sampling, TextModel
from webui.chat import broadcast, events, services, streambuffer
from webui.chat.models import Message

log = logging.getLogger(__name__)

# Coalesce chunks for this long before sending, so that the path to the browser costs
# next to nothing beside decoding; the first chunk goes at once for time to first token.
FLUSH_SECONDS = 0.03
# Save progress to the database this often, so a reload without Redis still shows it.
SAVE_SECONDS = 2.0


class _Streamer:
    """Buffers chunks of one answer and sends them to Redis and every open view."""

    def __init__(self, message: Message):
        self.message = message
        self.parts: list[str] = []
        self.pending: list[str] = []
        self.last_flush = 0.0
        self.last_save = time.monotonic()

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pending.append(chunk)
        now = time.monotonic()
        if now - self.last_flush >= FLUSH_SECONDS:
            self.flush(now)
        if now - self.last_save >= SAVE_SECONDS:
            self.last_save = now
            services.generation_progress(message_id=self.message.pk, content=self.text)

    def flush(self, now: float | None = None) -> None:
        self.last_flush = now or time.monotonic()
        if not self.pending:
            return
        chunk, self.pending = "".join(self.pending), []
        offset = streambuffer.append(self.message.pk, chunk)
        broadcast.to_conversation(
            self.message.conversation_id, events.message_delta(self.message.pk, offset, chunk)
        )


def history_for(message: Message) -> list[dict]:
    """The conversation up to this answer, as chat-template messages."""
    earlier = (
        Message.objects.filter(conversation_id=message.conversation_id, id__lt=message.pk)
        .exclude(role=Message.Role.ASSISTANT, status__in=[*Message.ACTIVE_STATUSES, "failed"])
        .order_by("created_at", "id")
        .values("role", "content")
    )
    return [{"role": m["role"], "content": m["content"]} for m in earlier if m["content"]]


def sampling_for(message: Message) -> Sampling:
    """The answer's own settings (already validated), within its model's longest answer."""
    limit = message.model.max_tokens if message.model else Sampling.max_tokens
    chosen = message.sampling or {}
    return Sampling(
        temperature=chosen.get("temperature", Sampling.temperature),
        top_p=chosen.get("top_p", Sampling.top_p),
        max_tokens=min(chosen.get("max_tokens", limit), limit),
        stop=list(chosen.get("stop", [])),
        seed=chosen.get("seed"),
    )


def generate_reply(message_id: int, *, model: TextModel, worker_name: str) -> str | None:
    """Generate one queued answer; return its final status, or None if it was not ours."""
    message = services.generation_claim(message_id=message_id, worker=worker_name)
    if message is None:
        return None
    streamer = _Streamer(message)
    figures = Figures()
    sampling = sampling_for(message)
    try:
        if message.sampling.get("raw"):
            prompt = model.build_raw_prompt(
                history_for(message)[-1]["content"], sampling.max_tokens
            )
        else:
            prompt = model.build_prompt(history_for(message), sampling.max_tokens)
        conversation = message.conversation
        for chunk in model.stream(
            prompt,
            sampling,
            figures,
            should_stop=lambda: streambuffer.stop_requested(message_id),
            user=str(conversation.owner_id),
            priority=1 if conversation.source == conversation.Source.API else 0,
        ):
            streamer.add(chunk)
        streamer.flush()
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
