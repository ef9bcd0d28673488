"""One API request's answers, from the parsed request to what each of its choices says.

The chat and completions endpoints (webui.api.views) and the Responses API share it: each
parses its request into a `Request` (webui.api.params), `start`s it, reads `Run.events()`
(Update and Finished, per choice, with the text already read as content or tool calls)
and writes them in its own shapes.

A request for `n` answers stores them as versions of one answer, queued together; the
worker reads their shared prompt once (an answer family: webui.chat.answers, the engine's
families).
"""

from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.core.exceptions import RequestDataTooBig
from django.db import transaction

from webui.api import auth, document_sources, params, services
from webui.api.admission import Admission, in_turn
from webui.api.errors import (
    AccountPending,
    ApiError,
    BodyTooLarge,
    ContextLengthExceeded,
    GenerationFailed,
    InvalidKey,
)
from webui.api.follow import Subscription
from webui.api.tool_calls import CallReader, Content, Reading
from webui.chat import services as chat_services
from webui.chat import sources, streambuffer
from webui.chat.arrival_order import in_arrival_order
from webui.chat.models import Message
from webui.team import gate as team_gate

CONTEXT_CODE = "context_length_exceeded"


def api_user(request):
    """The active, approved owner of the request's key; raises InvalidKey or AccountPending."""
    user = auth.user_for_key(auth.bearer_token(request.headers.get("Authorization")))
    if user is None:
        raise InvalidKey("Missing or invalid API key. Send 'Authorization: Bearer <key>'.")
    if refusal := team_gate.account_refusal(user):
        raise AccountPending(refusal)
    return user


def failure(message: Message) -> ApiError:
    """The error a failed answer is to its client: too long a prompt is the client's."""
    if message.error_code == CONTEXT_CODE:
        return ContextLengthExceeded(message.error)
    return GenerationFailed(message.error or "The model failed while answering.")


@dataclass
class Update:
    """What one choice's answer adds: content and tool-call pieces (webui.api.tool_calls),
    and the logprobs entries of its new tokens."""

    index: int
    events: list
    logprobs: list[dict] = field(default_factory=list)


@dataclass
class Finished:
    """A choice's answer has ended: its last pieces, the whole reading, and why it ended."""

    index: int
    message: Message
    events: list
    logprobs: list[dict]
    reading: Reading
    finish_reason: str | None  # None: it failed

    @property
    def error(self) -> ApiError | None:
        return failure(self.message) if self.finish_reason is None else None


class _Choice:
    def __init__(self, index: int, answer: Message, reader: CallReader | None, logprobs: bool):
        self.index, self.answer, self.reader = index, answer, reader
        self.logprobs, self.sent_logprobs = logprobs, 0
        self.text, self.done = "", False

    async def update(self, text: str) -> Update:
        self.text += text
        events = self.reader.feed(text) if self.reader else [Content(text)]
        entries = []
        if self.logprobs:
            entries = await streambuffer.alogprobs(self.answer.pk, self.sent_logprobs)
            self.sent_logprobs += len(entries)
        return Update(self.index, events, entries)

    def finish(self, message: Message, legacy: bool) -> Finished:
        self.done = True
        events = self.reader.finish() if self.reader else []
        reading = self.reader.reading() if self.reader else Reading(self.text)
        entries = (message.logprobs or [])[self.sent_logprobs :] if self.logprobs else []
        self.sent_logprobs += len(entries)
        if message.status == Message.Status.FAILED:
            reason = None
        elif message.finish_reason == "length":
            reason = "length"
        elif reading.calls:
            reason = "function_call" if legacy else "tool_calls"
        else:
            reason = "stop"
        return Finished(self.index, message, events, entries, reading, reason)


class Run:
    """A request's queued answers, followed as they stream."""

    def __init__(self, req, answers: list[Message], model):
        self.req, self.model = req, model
        self.subscription = Subscription(answers[0].conversation_id)
        path = req.sampling.get("tool_format")
        offered = req.tools is not None and req.tools.offered
        legacy = offered and req.tools.legacy
        self.legacy = legacy
        self.choices = {
            answer.pk: _Choice(
                index,
                answer,
                # Answers that may call tools are read as calls (webui.api.tool_calls).
                CallReader(path, max_calls=None if req.tools.parallel else 1) if offered else None,
                bool(req.sampling.get("logprobs")),
            )
            for index, answer in enumerate(answers)
        }
        self.finished: list[Finished] = []

    async def events(self) -> AsyncIterator[Update | Finished]:
        """Each choice's updates as they come, interleaved, and its end."""
        async for message_id, item in self.subscription.answers(list(self.choices)):
            choice = self.choices[message_id]
            if isinstance(item, Message):
                finished = choice.finish(item, self.legacy)
                self.finished.append(finished)
                yield finished
            else:
                yield await choice.update(item)

    async def first(self) -> tuple[Update | Finished, AsyncIterator]:
        """The first event, and the events after it; raises the error of an answer that
        failed before it said anything (a prompt too long for the context: a 400)."""
        events = self.events()
        first = await anext(events)
        if isinstance(first, Finished) and first.error is not None:
            raise first.error
        return first, events

    def usage(self) -> dict:
        """The tokens of every choice together."""
        prompt = sum(f.message.prompt_tokens or 0 for f in self.finished)
        completion = sum(f.message.completion_tokens or 0 for f in self.finished)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    async def close(self) -> None:
        """Stop the answers still going (their client has gone: the GPU is for whoever still
        waits) and stop listening."""
        try:
            for choice in self.choices.values():
                if not choice.done:
                    with suppress(Message.DoesNotExist):
                        message = await Message.objects.aget(pk=choice.answer.pk)
                        await sync_to_async(chat_services.message_stop)(message=message)
        finally:
            await self.subscription.__aexit__()


def admit(request, req, ticket: str | None = None):
    """Check the key and the user's standing, then store the request and queue its answers;
    return them and the model.

    One step in Django's sync thread: each step costs a hop, and this one is on the way
    from the request to the worker. The admission lock is held from the count of the
    user's answers in progress until these are stored.
    """
    user = api_user(request)
    model = services.model_for(req.model, user)
    params.check_model_bounds(req.sampling, model)
    services.settle(req, model)
    # Before the lock and the transaction: retrieval asks the embedding worker.
    found = document_sources.request_sources(user=user, model=model, request=req)
    admission = Admission(user.pk, ticket).enter()
    try:
        services.check_limits(user, answers=req.n)
        with transaction.atomic():
            conversation = services.api_conversation_create(owner=user, model=model, request=req)
            answers = services.api_answers_queue(conversation=conversation, request=req)
            for answer in answers:
                sources.cite(answer=answer, sources=found)
    finally:
        admission.leave()
    return answers, model


async def parsed(request, parse) -> params.Request:
    """The request's body through `parse`; a bad body from an unknown key is a 401 first."""
    try:
        return parse(params.parse_body(body(request)))
    except ApiError:
        await sync_to_async(api_user)(request)
        raise


def body(request) -> bytes:
    # Django refuses bodies past DATA_UPLOAD_MAX_MEMORY_SIZE with a bare HTML 400;
    # clients of this API expect the same JSON error as for any body over our own limit.
    try:
        return request.body
    except RequestDataTooBig:
        raise BodyTooLarge(
            f"The request body is larger than {params.MAX_BODY_BYTES:,} bytes."
        ) from None


async def start(request, req) -> Run:
    """Store and queue the request's answers, and listen for them."""

    async def admitted(ticket):
        # Stored in turn with other questions to this process (see webui.chat.arrival_order).
        async with in_arrival_order(req.model):
            return await sync_to_async(admit)(request, req, ticket)

    # Past the user's cap, it waits in line for a place (see webui.api.admission).
    answers, model = await in_turn(admitted)
    run = Run(req, answers, model)
    # Listens once the answers are on their way (see Subscription for what that may miss).
    try:
        await run.subscription.__aenter__()
    except BaseException:
        # The client will hear nothing of these answers: they must not take the GPU.
        with suppress(Exception):
            await run.close()
        raise
    return run
