"""POST /v1/embeddings: vectors from a model of role "embedding", in OpenAI's shape.

The request goes to a worker of that model (webui.registry.embeddings) and the view
awaits its reply on Redis; nothing is stored but the usage record.
"""

import base64
import json

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from django.utils import timezone

from webui.api import params
from webui.api.errors import ApiError, GenerationFailed, ModelNotFound, NoWorker, RateLimited
from webui.api.views import _api_view, _body, _user
from webui.chat import standing
from webui.registry import embeddings
from webui.registry.models import LLMModel
from webui.team import gate as team_gate
from webui.team import usage
from webui.team.access import models_for

# OpenAI's limit on inputs per request.
MAX_INPUTS = 2048
KNOWN = {"input", "model", "encoding_format", "dimensions", "user"}
ENCODINGS = ("float", "base64")


def parse(body: dict) -> tuple[str, list, str, int | None]:
    """(model, inputs, encoding_format, dimensions) of a request body, or ApiError."""
    body = {key: value for key, value in body.items() if value is not None}
    if unknown := sorted(set(body) - KNOWN):
        raise ApiError(f"Unknown parameter(s): {', '.join(unknown)}.", param=unknown[0])
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError("'model' is required: the id of an embedding model.", param="model")
    encoding = body.get("encoding_format", "float")
    if encoding not in ENCODINGS:
        raise ApiError("'encoding_format' is 'float' or 'base64'.", param="encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and (type(dimensions) is not int or dimensions < 1):
        raise ApiError("'dimensions' is a positive integer.", param="dimensions")
    user = body.get("user", "")
    if not isinstance(user, str) or len(user) > params.MAX_USER_CHARS:
        raise ApiError(f"'user' is a string of at most {params.MAX_USER_CHARS} characters.")
    return model, _inputs(body.get("input")), encoding, dimensions


def _inputs(value) -> list:
    """The inputs as a list of strings or a list of token-id lists, checked."""
    if isinstance(value, str) or _token_ids(value):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ApiError(
            "'input' is a string, a list of strings, a list of token ids or a list of "
            "lists of token ids, and not empty.",
            param="input",
        )
    if len(value) > MAX_INPUTS:
        raise ApiError(
            f"'input' has {len(value):,} items; at most {MAX_INPUTS:,} are allowed.",
            param="input",
        )
    texts = all(isinstance(item, str) for item in value)
    if not texts and not all(_token_ids(item) for item in value):
        raise ApiError(
            "'input' mixes kinds: give only strings, or only lists of token ids.", param="input"
        )
    for index, item in enumerate(value):
        if not item:
            raise ApiError(f"Input {index} is empty.", param="input")
    return value


def _token_ids(value) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(type(token) is int and token >= 0 for token in value)
    )


def _admit(request, slug: str, inputs: list, dimensions: int | None):
    """Check the key, the model and the user's limits, then queue the inputs: one step in
    Django's sync thread."""
    user = _user(request)
    model = models_for(user, role=None).filter(slug=slug).first()
    if model is None:
        raise ModelNotFound(f"The model '{slug}' does not exist or is disabled.", param="model")
    if model.role != LLMModel.Role.EMBEDDING:
        raise ApiError(
            f"The model '{slug}' is a chat model: it computes no embeddings. "
            "Name a model of role embedding (GET /v1/models lists them).",
            param="model",
            code="model_not_embedding",
        )
    try:
        standing.check_limits(user)
    except team_gate.Refused as exc:
        raise RateLimited(str(exc), retry_after=exc.retry_after) from None
    try:
        request_id = embeddings.send(model, inputs, dimensions=dimensions)
    except embeddings.EmbeddingUnavailable as exc:
        raise NoWorker(str(exc)) from None
    return user, model, request_id


async def _create(request):
    """Compute one vector per input with the named embedding model."""
    try:
        slug, inputs, encoding, dimensions = parse(params.parse_body(_body(request)))
    except ApiError:
        await sync_to_async(_user)(request)  # an unknown key is told so first
        raise
    user, model, request_id = await sync_to_async(_admit)(request, slug, inputs, dimensions)
    try:
        embedded = await embeddings.await_reply(model, request_id)
    except embeddings.EmbeddingRefused as exc:
        param = "dimensions" if exc.code == "invalid_dimensions" else "input"
        raise ApiError(str(exc), param=param, code=exc.code) from None
    except embeddings.EmbeddingUnavailable as exc:
        raise NoWorker(str(exc)) from None
    except embeddings.EmbeddingError as exc:
        raise GenerationFailed(str(exc)) from None
    tokens = sum(embedded.tokens)
    await sync_to_async(usage.record_embeddings)(
        user=user,
        model=model,
        via="api",
        finished_at=timezone.now(),
        prompt_tokens=tokens,
        seconds=embedded.seconds,
    )
    # Thousands of vectors take a while to write as JSON: off the event loop's thread.
    body = await sync_to_async(_reply_body, thread_sensitive=False)(
        embedded.vectors, encoding, model.slug, tokens
    )
    return HttpResponse(body, content_type="application/json")


def _reply_body(vectors, encoding: str, slug: str, tokens: int) -> str:
    data = [
        {"object": "embedding", "index": index, "embedding": _encoded(vector, encoding)}
        for index, vector in enumerate(vectors)
    ]
    counted = {"prompt_tokens": tokens, "total_tokens": tokens}
    return json.dumps({"object": "list", "data": data, "model": slug, "usage": counted})


def _encoded(vector, encoding: str):
    if encoding == "base64":
        # OpenAI's base64: the vector's little-endian float32 bytes.
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return vector.tolist()


_create.methods = ("POST",)
create = _api_view(_create)
