"""OpenAI-compatible endpoints: /v1/models[/{id}], /v1/chat/completions, /v1/completions."""

import json
import logging
import time

from asgiref.sync import sync_to_async
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from webui.api import generation, params
from webui.api.errors import ApiError, MethodNotAllowed, ModelNotFound, ServerError, UnknownUrl
from webui.api.generation import Finished, api_user
from webui.api.shapes import ChatShape, TextShape
from webui.team.access import models_for

log = logging.getLogger(__name__)

# The other endpoints' modules read the key and the body as these do.
_user = api_user
_body = generation.body


def _api_view(handler):
    """Turn ApiError into OpenAI-shaped JSON, and exempt bearer auth from CSRF.

    Each handler reads the key itself (_user), in the same step as its other queries.
    """

    @csrf_exempt
    async def view(request, **kwargs):
        try:
            if request.method not in handler.methods:
                raise MethodNotAllowed(handler.methods)
            return await handler(request, **kwargs)
        except ApiError as exc:
            return exc.response()
        except Exception:
            # Still OpenAI's shape: clients read the error's JSON, not a page.
            log.exception("API request %s %s failed", request.method, request.path)
            return ServerError("The server failed while handling this request.").response()

    return view


def _model_object(model) -> dict:
    return {
        "id": model.slug,
        "object": "model",
        "created": int(model.created_at.timestamp()),
        "owned_by": "homefire",
        "name": model.name,
    }


async def _models(request):
    user = await sync_to_async(_user)(request)
    # Every role: clients list embedding models here too.
    rows = models_for(user, role=None).order_by("slug")
    return JsonResponse({"object": "list", "data": [_model_object(m) async for m in rows]})


async def _model(request, model_id: str):
    user = await sync_to_async(_user)(request)
    model = await models_for(user, role=None).filter(slug=model_id).afirst()
    if model is None:
        # The same answer for a model that exists but is not theirs: it does not exist for them.
        raise ModelNotFound(f"The model '{model_id}' does not exist.", param="model")
    return JsonResponse(_model_object(model))


_models.methods = _model.methods = ("GET",)


async def _generate(request, parse, shape_class):
    req = await generation.parsed(request, parse)
    run = await generation.start(request, req)
    try:
        # The first event comes before the response's status: an answer that fails at once
        # (a prompt too long for the context) is a 400, streamed or not.
        first, rest = await run.first()
    except BaseException:
        await run.close()
        raise
    answer = next(iter(run.choices.values())).answer
    shape = shape_class(f"{shape_class.prefix}-{answer.pk}", int(time.time()), req, run)
    logprobs = bool(req.sampling.get("logprobs"))
    if req.stream:
        response = StreamingHttpResponse(
            _stream(run, first, rest, shape, req.include_usage), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
    try:
        async for _ in rest:
            pass
    finally:
        await run.close()
    if failed := next((f.error for f in run.finished if f.error is not None), None):
        raise failed
    return JsonResponse(shape.whole(run.finished, run.usage(), logprobs))


async def _stream(run, first, rest, shape, include_usage: bool):
    """The run's events as server-sent events, choices interleaved, ending in [DONE]."""
    try:
        for chunk in shape.opening(sorted(c.index for c in run.choices.values())):
            yield _sse(chunk)
        for chunk in shape.chunks(first):
            yield _sse(chunk)
        async for event in rest:
            if isinstance(event, Finished) and event.error is not None:
                yield _sse({"error": json.loads(event.error.response().content)["error"]})
                continue
            for chunk in shape.chunks(event):
                yield _sse(chunk)
        if include_usage:
            yield _sse(shape.usage_chunk(run.usage()))
        yield "data: [DONE]\n\n"
    finally:
        # A client that goes away stops its answers (Run.close).
        await run.close()


def _sse(data: dict) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _chat(request):
    return await _generate(request, params.chat_request, ChatShape)


async def _completions(request):
    return await _generate(request, params.completion_request, TextShape)


_chat.methods = _completions.methods = ("POST",)


@csrf_exempt
def unknown_url(request, **kwargs):
    """Answer any other /v1 URL in the API's JSON shape, as OpenAI does."""
    return UnknownUrl(f"Invalid URL ({request.method} {request.path}).").response()


models = _api_view(_models)
model = _api_view(_model)
chat_completions = _api_view(_chat)
completions = _api_view(_completions)
