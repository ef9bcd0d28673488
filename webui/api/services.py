"""API requests go through the same queue and workers as the browser."""

import json

from django.conf import settings
from django.db import transaction

from webui.api import tools
from webui.api.admission import Busy
from webui.api.errors import ApiError, ModelNotFound, NoWorker, RateLimited
from webui.api.json_grammar import schema_to_gbnf
from webui.api.params import Request
from webui.chat import answers, standing
from webui.chat.models import Conversation, Message
from webui.chat.services import title_from
from webui.chat.tool_turns import NATIVE
from webui.registry.models import LLMModel
from webui.registry.presence import workers_for
from webui.team import gate as team_gate
from webui.team.access import models_for


def model_for(slug: str, user) -> LLMModel:
    """The enabled model of this slug that the user may use (others do not exist for them)."""
    model = models_for(user, role=None).filter(slug=slug).first()
    if model is None:
        raise ModelNotFound(f"The model '{slug}' does not exist or is disabled.", param="model")
    if model.role != LLMModel.Role.CHAT:
        raise ApiError(
            f"The model '{slug}' is an embedding model: it writes no answers. "
            "Use it with /v1/embeddings.",
            param="model",
            code="model_not_chat",
        )
    if not workers_for(model.slug):
        raise NoWorker(f"No worker is serving '{slug}' right now. Try again later.")
    return model


def check_limits(user, *, answers: int = 1) -> None:
    """The user's limits and the API's cap on answers in progress, which a request for
    several `answers` (the API's n) takes that many places of.

    The account's standing was checked with the key (views._user) and access to the model
    by model_for; what is left of the gate's check_send is the limits.
    """
    try:
        standing.check_limits(user)
    except team_gate.Refused as exc:
        raise RateLimited(str(exc), retry_after=exc.retry_after) from None
    limit = settings.HOMEFIRE["API_MAX_ACTIVE"]
    active = Message.objects.filter(
        conversation__owner=user, sampling__via="api", status__in=Message.ACTIVE_STATUSES
    ).count()
    if answers > limit:
        raise ApiError(f"'n' may be at most {limit} here (answers in progress).", param="n")
    if active + answers > limit:
        raise Busy(
            f"You have {active} requests in progress; the limit is {limit}.", user_id=user.pk
        )


def api_conversation_create(*, owner, model: LLMModel, request: Request) -> Conversation:
    """An API request's own conversation: out of the chat history unless `store` is true."""
    if request.store:
        first = next((m["content"] for m in request.messages if m["role"] == "user"), "")
        title = title_from(first) or "API conversation"
        return Conversation.objects.create(owner=owner, model=model, title=title)
    return Conversation.objects.create(
        owner=owner, model=model, source=Conversation.Source.API, title="API request"
    )


def settle(request: Request, model: LLMModel) -> None:
    """Settle what depends on the model: the tool path its template takes and the grammar
    the answer keeps to (tools, structured output), in the answer's sampling."""
    sampling = request.sampling
    path = None
    if request.tools is not None or request.tool_history:
        path = tools.tool_path(model)
        sampling.update(tools.sampling(request.tools, path))
    grammar = ""
    offered = request.tools is not None and request.tools.offered
    if offered:
        if path == NATIVE and request.tools.choice == "auto" and request.response_schema:
            raise ApiError(
                f"'{model.slug}' writes tool calls its own way: with tool_choice auto, its "
                "answers cannot be held to a response_format as well.",
                param="response_format",
            )
        grammar = tools.grammar(request.tools, path, request.response_schema)
    elif request.response_schema is not None:
        grammar = schema_to_gbnf(request.response_schema)
    if grammar:
        sampling["grammar"] = grammar


# Inside the caller's transaction when there is one: a savepoint costs two more statements.
@transaction.atomic(savepoint=False)
def api_answers_queue(*, conversation: Conversation, request: Request) -> list[Message]:
    """Store the request's messages and its queued answers (n of them: versions of one
    answer, sharing their prompt), then queue their generation."""
    limit = settings.HOMEFIRE["MAX_MESSAGE_CHARS"]
    for message in request.messages:
        size = len(message["content"]) + len(json.dumps(message["api_fields"] or ""))
        if size > limit:
            raise ApiError(f"A message is longer than {limit:,} characters.", param="messages")
    model = conversation.model
    sampling = {**request.sampling, "via": "api"}
    asked = [
        Message(
            conversation=conversation,
            role=m["role"],
            content=m["content"],
            api_fields=m["api_fields"],
        )
        for m in request.messages
    ]
    if request.n == 1:
        answer = Message(
            conversation=conversation, role=Message.Role.ASSISTANT, model=model, sampling=sampling
        )
        return [answers.queue_after(asked=asked, answer=answer)]
    # Several: versions of one answer after the last message, the first shown; one family
    # (conversation and parent) for the worker, which reads their prompt once.
    Message.objects.bulk_create(asked)
    first = answers.queue(
        conversation=conversation, model=model, parent=asked[-1], sampling=sampling
    )
    others = [
        answers.queue(
            conversation=conversation,
            model=model,
            parent=asked[-1],
            sampling=_choice_sampling(sampling, index),
            version_of=first,
            shown=False,
        )
        for index in range(1, request.n)
    ]
    return [first, *others]


def _choice_sampling(sampling: dict, index: int) -> dict:
    """A choice's own settings: with a seed, each choice gets the next one (the same seed
    would write the same answer n times)."""
    if sampling.get("seed") is None:
        return sampling
    return {**sampling, "seed": (sampling["seed"] + index) % 2**31}
