"""The generation loop: from a queued answer to a finished one, streaming on the way."""

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError, close_old_connections

from inference.engine.contract import (
    AnswerFailed,
    Arrival,
    Figures,
    PromptRefused,
    PromptTooLong,
    Sampling,
    TextModel,
)
from inference.engine.jobs import API, CHAT
from inference.worker.start_notice import StartNotice
from inference.worker.stop_watch import stop_watch
from inference.worker.streamer import Streamer, streaming
from webui.chat import answers, selectors, titles
from webui.chat.models import Message
from webui.chat.sampling import SamplingRejected

log = logging.getLogger(__name__)

# Seconds between tries to store an answer's end while the database is away (restarting,
# or out of reach of this worker's host): about a minute in all, then the error stands.
STORE_RETRY_WAITS = (0.5, 1, 2, 4, 8, 15, 30)


def sampling_for(message: Message) -> Sampling:
    """How to sample the answer: its own, its conversation's or its model's settings, within
    the model's bounds (webui.chat.selectors.answer_sampling); raises SamplingRejected for a
    stored setting that cannot be used."""
    return Sampling(**selectors.answer_sampling(message))


def generate_reply(
    message_id: int,
    *,
    model: TextModel,
    worker_name: str,
    model_slug: str | None = None,
    arrival: Arrival = (0, 0),
    started: Callable[[], None] | None = None,
) -> str | None:
    """Generate one queued answer; return its final status, or None if it was not ours
    (gone, stopped, taken already, or for another model than `model_slug`).

    `started` is called once the answer's first text is out, or after a while without.
    """
    message = answers.claim(message_id=message_id, worker=worker_name, model_slug=model_slug)
    if message is None:
        return None
    figures = Figures()
    streamer = Streamer(message, StartNotice(message, also=started), figures=figures)
    # A claimed answer that has text already was cut at its length limit and is being
    # continued: the model goes on from that text, and the answer grows.
    earlier = (message.content, message.completion_tokens or 0)
    earlier_text = earlier[0]
    # From the claim on, whatever fails ends the answer failed with its reason: the
    # worker is alive, so nothing else would end an answer it left streaming.
    try:
        sampling = sampling_for(message)
        shape = selectors.prompt_options(message)  # tools, and whether turns may be dropped
        history = selectors.prompt_history(message)
        if (message.sampling or {}).get("raw"):  # checked by sampling_for
            prompt = model.build_raw_prompt(history[-1]["content"], sampling.max_tokens)
        elif earlier_text:
            streamer.resume_from(earlier_text)
            prompt = model.build_prompt(
                history, sampling.max_tokens, answer_prefix=earlier_text, **shape
            )
        else:
            prompt = model.build_prompt(history, sampling.max_tokens, **shape)
        conversation = message.conversation
        with streaming.one(), stop_watch.watching(message_id) as should_stop:
            for chunk in model.stream(
                prompt,
                sampling,
                figures,
                should_stop=should_stop,
                user=str(conversation.owner_id),
                priority=API if answers.came_from_api(message) else CHAT,
                every=lambda: streamer.interval,
                arrival=arrival,
                # The versions of one answer asked together (the API's n) share a prompt.
                family=f"{message.conversation_id}:{message.parent_id}",
            ):
                streamer.add(chunk)
        streamer.flush()
    except SamplingRejected as exc:
        reason = f"This answer's settings cannot be used: {exc}"
        return _finish(message, streamer, figures, Message.Status.FAILED, reason, earlier=earlier)
    except PromptTooLong as exc:
        return _finish(
            message,
            streamer,
            figures,
            Message.Status.FAILED,
            str(exc),
            earlier=earlier,
            code="context_length_exceeded",
        )
    except PromptRefused as exc:  # a template that cannot render it
        return _finish(message, streamer, figures, Message.Status.FAILED, str(exc), earlier=earlier)
    except AnswerFailed as exc:  # the decoder ended this answer alone, saying why
        log.warning("answer %s failed: %s", message_id, exc)
        _flush_quietly(streamer)
        return _finish(message, streamer, figures, Message.Status.FAILED, str(exc), earlier=earlier)
    except Exception as exc:
        log.exception("answer %s failed", message_id)
        _flush_quietly(streamer)
        reason = f"The model failed while answering ({type(exc).__name__}). Try again."
        if isinstance(exc, DatabaseError):  # e.g. a PostgreSQL restart under the answer
            reason = f"The database could not be reached ({type(exc).__name__}). Try again."
        return _finish(message, streamer, figures, Message.Status.FAILED, reason, earlier=earlier)
    status = Message.Status.STOPPED if figures.finish_reason == "stopped" else Message.Status.DONE
    return _finish(
        message, streamer, figures, status, truncated=prompt.dropped_turns, earlier=earlier
    )


def _store_end(**end) -> bool:
    """answers.finish, tried again while the database is away: the answer's text is whole
    here, and a worker that stays alive with it unstored would leave it streaming forever
    (housekeeping ends only the answers of workers that stopped beating)."""
    for wait in STORE_RETRY_WAITS:
        try:
            return answers.finish(**end)
        except DatabaseError as exc:
            log.warning(
                "answer %s: its end not stored (%s); again in %s s", end["message"].pk, exc, wait
            )
            close_old_connections()  # the broken connection goes; the next try opens one
            time.sleep(wait)
    return answers.finish(**end)


def _flush_quietly(streamer: Streamer) -> None:
    """Send what is left of a failed answer's text, if Redis takes it: the answer is stored
    with its text and reason either way."""
    try:
        streamer.flush()
    except Exception:
        log.exception("the last text of answer %s was not sent", streamer.message.pk)


def _finish(
    message, streamer, figures, status, error="", truncated=0, earlier=("", 0), code=""
) -> str:
    """Store the answer's end; `earlier`: the text and tokens it had before this run;
    `code`: why it failed, for programs (the API's error code)."""
    streamer.notice.cancel()
    # A continued answer whose run failed before resuming keeps the text it had.
    content = streamer.text or earlier[0]
    figures.completion_tokens += earlier[1]
    stored = _store_end(
        message=message,
        content=content,
        status=status,
        error=error,
        prompt_tokens=figures.prompt_tokens or None,
        completion_tokens=figures.completion_tokens,
        ttft_ms=figures.ttft_ms,
        tokens_per_second=figures.tokens_per_second,
        truncated_turns=truncated,
        finish_reason=figures.finish_reason if status != Message.Status.FAILED else "",
        error_code=code,
        logprobs=figures.logprobs or None,
    )
    if stored and status == Message.Status.DONE:
        titles.request_after(message)
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
