"""API requests go through the same queue and workers as the browser."""

from django.conf import settings
from django.db import transaction

from webui.api.errors import ApiError, ModelNotFound, NoWorker, RateLimited
from webui.api.params import Request
from webui.chat import answers, standing
from webui.chat.models import Conversation, Message
from webui.chat.services import title_from
from webui.registry.models import LLMModel
from webui.registry.presence import workers_for
from webui.team import gate as team_gate
from webui.team.access import models_for


def model_for(slug: str, user) -> LLMModel:
    """The enabled model of this slug that the user may use (others do not exist for them)."""
    model = models_for(user).filter(slug=slug).first()
    if model is None:
        raise ModelNotFound(f"The model '{slug}' does not exist or is disabled.", param="model")
    if not workers_for(model.slug):
        raise NoWorker(f"No worker is serving '{slug}' right now. Try again later.")
    return model


def check_limits(user) -> None:
    """The user's limits and the API's cap on answers in progress.

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
    if active >= limit:
        raise RateLimited(f"You have {active} requests in progress; the limit is {limit}.")


def api_conversation_create(*, owner, model: LLMModel, request: Request) -> Conversation:
    """An API request's own conversation: out of the chat history unless `store` is true."""
    if request.store:
        first = next((m["content"] for m in request.messages if m["role"] == "user"), "")
        title = title_from(first) or "API conversation"
        return Conversation.objects.create(owner=owner, model=model, title=title)
    return Conversation.objects.create(
        owner=owner, model=model, source=Conversation.Source.API, title="API request"
    )


# Inside the caller's transaction when there is one: a savepoint costs two more statements.
@transaction.atomic(savepoint=False)
def api_answer_queue(*, conversation: Conversation, request: Request) -> Message:
    """Store the request's messages and a queued answer, then queue its generation."""
    limit = settings.HOMEFIRE["MAX_MESSAGE_CHARS"]
    for message in request.messages:
        if len(message["content"]) > limit:
            raise ApiError(f"A message is longer than {limit:,} characters.", param="messages")
    model = conversation.model
    answer = Message(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        model=model,
        sampling={**request.sampling, "via": "api"},
    )
    asked = [
        Message(conversation=conversation, role=m["role"], content=m["content"])
        for m in request.messages
    ]
    return answers.queue_after(asked=asked, answer=answer)
