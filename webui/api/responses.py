"""POST /v1/responses, GET and DELETE /v1/responses/{id}: OpenAI's Responses API.

It takes the chat path: the same key check, admission, limits and line, queue, workers
and usage as /v1/chat/completions, and the same reading of an answer as text and tool
calls (webui.api.generation.Run). Of its own are how a request is read
(responses_params), where a turn is stored (responses_store) and the shapes sent back
(responses_shapes).
"""

from contextlib import suppress

from asgiref.sync import sync_to_async
from django.db import transaction
from django.http import JsonResponse, StreamingHttpResponse

from webui.api import generation, params, services
from webui.api.admission import Admission, in_turn
from webui.api.errors import ApiError
from webui.api.generation import Finished, Run
from webui.api.responses_params import ResponseRequest, response_request
from webui.api.responses_shapes import EventStream, Output, response_object, stored_response
from webui.api.responses_store import (
    response_delete,
    response_get,
    response_queue,
    response_settle,
)
from webui.api.views import _api_view, _user
from webui.chat.arrival_order import in_arrival_order
from webui.chat.models import Message

# The response's status for a choice's finish_reason (None: it failed).
STATUS = {"stop": "completed", "tool_calls": "completed", "length": "incomplete", None: "failed"}


def _admit(request, req: ResponseRequest, ticket: str | None):
    """Check the key, the model and the earlier response; store the turn and queue its
    answer, holding the user's admission lock from the count of answers in progress."""
    user = _user(request)
    model = services.model_for(req.model, user)
    try:
        params.check_model_bounds(req.sampling, model)
    except ApiError as exc:
        if exc.param != "max_tokens":
            raise
        text = str(exc).replace("'max_tokens'", "'max_output_tokens'")
        raise ApiError(text, param="max_output_tokens") from None
    services.settle(req, model)  # the tool path and the grammar, as for a chat request
    previous = None
    if req.previous is not None:
        previous = response_get(
            owner=user,
            public_id=req.previous,
            param="previous_response_id",
            code="previous_response_not_found",
        )
    admission = Admission(user.pk, ticket).enter()
    try:
        services.check_limits(user)
        with transaction.atomic():
            answer = response_queue(owner=user, model=model, request=req, previous=previous)
    finally:
        admission.leave()
    return answer, model


def _failure(message: Message) -> ApiError:
    error = generation.failure(message)
    if error.code == generation.CONTEXT_CODE:
        error.param = "input"
    return error


async def _start(request, req: ResponseRequest) -> Run:
    async def admitted(ticket):
        # Stored in turn with other questions to this process (see webui.chat.arrival_order).
        async with in_arrival_order(req.model):
            return await sync_to_async(_admit)(request, req, ticket)

    answer, model = await in_turn(admitted)  # past the user's cap, it waits in line
    run = Run(req, [answer], model)
    try:
        await run.subscription.__aenter__()
    except BaseException:
        # The client will hear nothing of this answer: it must not take the GPU.
        with suppress(Exception):
            await run.close()
        raise
    return run


async def _create(request):
    req = await generation.parsed(request, response_request)
    run = await _start(request, req)
    try:
        # The first event comes before the response's status: an answer refused before its
        # first token (a prompt too long for the context) is a 400, streamed or not.
        first, rest = await run.first()
    except ApiError as exc:
        await run.close()
        if exc.code == generation.CONTEXT_CODE:
            exc.param = "input"
        raise
    except BaseException:
        await run.close()
        raise
    answer = next(iter(run.choices.values())).answer
    if req.stream:
        response = StreamingHttpResponse(
            _events(run, answer, req, first, rest), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
    output = Output(answer.pk, EventStream())  # its events go unheard
    try:
        output.add(first.events)
        async for event in rest:
            output.add(event.events)
    finally:
        await run.close()
    (finished,) = run.finished
    if finished.error is not None:
        raise _failure(finished.message)
    status = STATUS[finished.finish_reason]
    output.close(status)
    await sync_to_async(response_settle)(finished)
    return JsonResponse(_whole(answer, req, status, output.items, finished.message))


def _whole(answer: Message, req, status: str, output: list[dict], message=None) -> dict:
    return response_object(
        answer_id=answer.pk,
        created_at=int(answer.created_at.timestamp()),
        model=req.model,
        settings=req.echo,
        status=status,
        output=output,
        message=message,
    )


async def _events(run: Run, answer: Message, req: ResponseRequest, first, rest):
    """The Responses API's events for one answer, from response.created to its end."""
    stream = EventStream()
    output = Output(answer.pk, stream)
    opened = _whole(answer, req, "in_progress", [])
    try:
        yield stream.event("response.created", response=opened)
        yield stream.event("response.in_progress", response=opened)
        event = first
        while not isinstance(event, Finished):
            for line in output.add(event.events):
                yield line
            event = await anext(rest)
        for line in output.add(event.events):
            yield line
        status = STATUS[event.finish_reason]
        for line in output.close("incomplete" if status == "failed" else status):
            yield line
        await sync_to_async(response_settle)(event)
        whole = _whole(answer, req, status, output.items, event.message)
        ending = {"completed": "response.completed", "failed": "response.failed"}
        yield stream.event(ending.get(status, "response.incomplete"), response=whole)
    finally:
        # A client that goes away stops its answer (Run.close).
        await run.close()


async def _one(request, response_id: str):
    if request.GET.get("stream") in ("true", "1"):
        raise ApiError(
            "Streaming a stored response again is not supported by this server.",
            param="stream",
            code="unsupported_parameter",
        )
    return await sync_to_async(_read_or_delete)(request, response_id)


def _read_or_delete(request, public_id: str) -> JsonResponse:
    found = response_get(owner=_user(request), public_id=public_id)
    if request.method == "DELETE":
        response_delete(response=found)
        return JsonResponse({"id": public_id, "object": "response", "deleted": True})
    message = found.answer
    model = message.model.slug if message.model else ""
    return JsonResponse(stored_response(message, model=model, settings=found.settings))


_create.methods = ("POST",)
_one.methods = ("GET", "DELETE")

create = _api_view(_create)
response = _api_view(_one)
