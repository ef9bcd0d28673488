"""OpenAI-compatible endpoints: /v1/models[/{id}], /v1/chat/completions, /v1/completions."""

import json
import time
from collections.abc import AsyncIterator
from contextlib import suppress

from asgiref.sync import sync_to_async
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from webui.api import auth, params, services
from webui.api.admission import Admission
from webui.api.errors import (
    AccountPending,
    ApiError,
    GenerationFailed,
    InvalidKey,
    MethodNotAllowed,
    ModelNotFound,
    UnknownUrl,
)
from webui.api.follow import Subscription
from webui.chat import services as chat_services
from webui.chat.arrival_order import in_arrival_order
from webui.chat.models import Message
from webui.team import gate as team_gate
from webui.team.access import models_for


def _user(request):
    user = auth.user_for_key(auth.bearer_token(request.headers.get("Authorization")))
    if user is None:
        raise InvalidKey("Missing or invalid API key. Send 'Authorization: Bearer <key>'.")
    if refusal := team_gate.account_refusal(user):
        raise AccountPending(refusal)
    return user


def _usage(message: Message) -> dict:
    prompt, completion = message.prompt_tokens or 0, message.completion_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _finish_reason(message: Message) -> str:
    return "length" if message.finish_reason == "length" else "stop"


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
    rows = models_for(user).order_by("slug")
    return JsonResponse({"object": "list", "data": [_model_object(m) async for m in rows]})


async def _model(request, model_id: str):
    user = await sync_to_async(_user)(request)
    model = await models_for(user).filter(slug=model_id).afirst()
    if model is None:
        # The same answer for a model that exists but is not theirs: it does not exist for them.
        raise ModelNotFound(f"The model '{model_id}' does not exist.", param="model")
    return JsonResponse(_model_object(model))


_models.methods = _model.methods = ("GET",)


def _body(request) -> bytes:
    # Django refuses bodies past DATA_UPLOAD_MAX_MEMORY_SIZE with a bare HTML 400;
    # clients of this API expect the same JSON error as for any body over our own limit.
    try:
        return request.body
    except RequestDataTooBig:
        raise ApiError(
            f"The request body is larger than {params.MAX_BODY_BYTES:,} bytes."
        ) from None


def _admit(request, req):
    """Check the key and the user's standing, then store the request and queue its answer.

    One step in Django's sync thread: each step costs a hop, and this one is on the way
    from the request to the worker. The admission lock is held from the count of the
    user's answers in progress until this one is stored.
    """
    user = _user(request)
    model = services.model_for(req.model, user)
    params.check_model_bounds(req.sampling, model)
    admission = Admission(user.pk).enter()
    try:
        services.check_limits(user)
        with transaction.atomic():
            conversation = services.api_conversation_create(owner=user, model=model, request=req)
            answer = services.api_answer_queue(conversation=conversation, request=req)
    finally:
        admission.leave()
    return answer


async def _generate(request, parse, shape):
    # Read here, for the model's name: the line below counts the questions for each model.
    try:
        req = parse(params.parse_body(_body(request)))
    except ApiError:
        await sync_to_async(_user)(request)  # an unknown key is told so first
        raise
    # Stored in turn with other questions to this process (see webui.chat.arrival_order).
    async with in_arrival_order(req.model):
        answer = await sync_to_async(_admit)(request, req)
    # Listens once the answer is on its way (see Subscription for what that may miss).
    subscription = Subscription(answer.conversation_id)
    try:
        await subscription.__aenter__()
    except BaseException:
        # The client will hear nothing of this answer: it must not take the GPU for no one.
        with suppress(Exception):
            await sync_to_async(chat_services.message_stop)(message=answer)
        raise
    ident, created = f"{shape.prefix}-{answer.pk}", int(time.time())
    stream = _stream(subscription, answer, req, ident, created, shape)
    if req.stream:
        response = StreamingHttpResponse(stream, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
    text = []
    async for item in stream:
        text.append(item)
    message = text.pop()
    if message.status == Message.Status.FAILED:
        raise GenerationFailed(message.error or "The model failed while answering.")
    body = shape.whole(ident, created, req.model, "".join(text), _finish_reason(message))
    body["usage"] = _usage(message)
    return JsonResponse(body)


async def _stream(subscription, answer, req, ident, created, shape) -> AsyncIterator:
    """Yield SSE lines when streaming, else the raw text pieces and the final message."""
    finished = False
    try:
        if req.stream:
            yield _sse(shape.chunk(ident, created, req.model, "", None, first=True))
        async for item in subscription.answer(answer.pk):
            if isinstance(item, Message):
                finished = True
                if not req.stream:
                    yield item
                    return
                if item.status == Message.Status.FAILED:
                    error = GenerationFailed(item.error or "The model failed while answering.")
                    yield _sse({"error": json.loads(error.response().content)["error"]})
                else:
                    yield _sse(shape.chunk(ident, created, req.model, "", _finish_reason(item)))
                if req.include_usage:
                    usage = shape.chunk(ident, created, req.model, "", None)
                    usage.update(choices=[], usage=_usage(item))
                    yield _sse(usage)
                yield "data: [DONE]\n\n"
                return
            if req.stream:
                yield _sse(shape.chunk(ident, created, req.model, item, None))
            else:
                yield item
    finally:
        # A client that goes away stops its answer: the GPU is for whoever still waits.
        if not finished:
            await sync_to_async(chat_services.message_stop)(
                message=await Message.objects.aget(pk=answer.pk)
            )
        await subscription.__aexit__()


def _sse(data: dict) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


class _Chat:
    prefix, chunk_object = "chatcmpl", "chat.completion.chunk"

    @staticmethod
    def whole(ident, created, model, text, reason) -> dict:
        return {
            "id": ident,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": reason,
                    "message": {"role": "assistant", "content": text},
                }
            ],
        }

    @staticmethod
    def chunk(ident, created, model, text, reason, first=False) -> dict:
        delta = (
            {"role": "assistant", "content": text} if first else ({"content": text} if text else {})
        )
        return {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
        }


class _Text:
    prefix, chunk_object = "cmpl", "text_completion"

    @staticmethod
    def whole(ident, created, model, text, reason) -> dict:
        return {
            "id": ident,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "text": text, "finish_reason": reason}],
        }

    @staticmethod
    def chunk(ident, created, model, text, reason, first=False) -> dict:
        return _Text.whole(ident, created, model, text, reason)


async def _chat(request):
    return await _generate(request, params.chat_request, _Chat)


async def _completions(request):
    return await _generate(request, params.completion_request, _Text)


_chat.methods = _completions.methods = ("POST",)


@csrf_exempt
def unknown_url(request, **kwargs):
    """Answer any other /v1 URL in the API's JSON shape, as OpenAI does."""
    return UnknownUrl(f"Invalid URL ({request.method} {request.path}).").response()


models = _api_view(_models)
model = _api_view(_model)
chat_completions = _api_view(_chat)
completions = _api_view(_completions)
