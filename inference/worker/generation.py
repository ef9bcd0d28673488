"""The generation loop: from a queued answer to a finished one, streaming on the way."""

import logging
from collections.abc import Callable

from inference.engine.contract import Figures, PromptTooLong, Sampling, TextModel
from inference.worker.start_notice import StartNotice
from inference.worker.stop_watch import stop_watch
from inference.worker.streamer import Streamer, streaming
from webui.chat import answers, selectors
from webui.chat.models import Message

log = logging.getLogger(__name__)


def sampling_for(message: Message) -> Sampling:
    """How to sample the answer: its own, its conversation's or its model's settings, within
    the model's bounds (webui.chat.selectors.answer_sampling)."""
    return Sampling(**selectors.answer_sampling(message))


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
    message = answers.claim(message_id=message_id, worker=worker_name, model_slug=model_slug)
    if message is None:
        return None
    streamer = Streamer(message, StartNotice(message, also=started))
    figures = Figures()
    sampling = sampling_for(message)
    # A claimed answer that has text already was cut at its length limit and is being
    # continued: the model goes on from that text, and the answer grows.
    earlier_text, earlier_tokens = message.content, message.completion_tokens or 0
    try:
        history = selectors.prompt_history(message)
        if message.sampling.get("raw"):
            prompt = model.build_raw_prompt(history[-1]["content"], sampling.max_tokens)
        elif earlier_text:
            streamer.resume_from(earlier_text)
            prompt = model.build_prompt(history, sampling.max_tokens, answer_prefix=earlier_text)
        else:
            prompt = model.build_prompt(history, sampling.max_tokens)
        conversation = message.conversation
        with streaming.one(), stop_watch.watching(message_id) as should_stop:
            for chunk in model.stream(
                prompt,
                sampling,
                figures,
                should_stop=should_stop,
                user=str(conversation.owner_id),
                priority=1 if answers.came_from_api(message) else 0,
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
    answers.finish(
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
