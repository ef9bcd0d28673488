"""Where the Responses API keeps a response: its messages, in an API conversation.

A response's input messages and its answer go into an API conversation (out of the chat
history, like every API request's). A request that continues an earlier response
(`previous_response_id`) adds its messages to that response's conversation, after its
answer: the worker's prompt is then the chain of messages the new answer follows, so
that several responses may continue one (branches). The instructions are a system
message stored right before the answer; later turns leave them out (see
webui.chat.selectors.prompt_history), as OpenAI's API does.

With `store` (OpenAI's default), an ApiResponse row makes the answer findable by its
owner as `resp_<id>`; without it, the answer is kept as any API answer is but cannot be
read back or continued.
"""

from django.conf import settings
from django.db import transaction

from webui.api.errors import ApiError
from webui.api.models import ApiResponse
from webui.api.responses_params import ResponseRequest, response_id
from webui.chat import answers, versions
from webui.chat.models import Conversation, Message
from webui.registry.models import LLMModel


class ResponseNotFound(ApiError):
    status, code = 404, "response_not_found"


def response_get(
    *, owner, public_id: str, param: str | None = None, code: str | None = None
) -> ApiResponse:
    """The owner's stored response of this id; anyone else's does not exist for them."""
    pk = response_id(public_id)
    found = (
        ApiResponse.objects.select_related("answer__conversation", "answer__model")
        .filter(pk=pk, answer__conversation__owner=owner)
        .first()
        if pk
        else None
    )
    if found is None:
        raise ResponseNotFound(f"Response with id '{public_id}' not found.", param=param, code=code)
    return found


# Inside the caller's transaction: a savepoint costs two more statements.
@transaction.atomic(savepoint=False)
def response_queue(
    *, owner, model: LLMModel, request: ResponseRequest, previous: ApiResponse | None
) -> Message:
    """Store the request's messages and a queued answer after them; queue its generation."""
    limit = settings.HOMEFIRE["MAX_MESSAGE_CHARS"]
    if any(len(m["content"]) > limit for m in request.inputs) or len(request.instructions) > limit:
        raise ApiError(f"An input message is longer than {limit:,} characters.", param="input")
    if previous is not None:
        conversation = previous.answer.conversation
    else:
        conversation = Conversation.objects.create(
            owner=owner, model=model, source=Conversation.Source.API, title="API response"
        )
    asked = [
        Message(
            conversation=conversation,
            role=m["role"],
            content=m["content"],
            api_fields=m["api_fields"],
        )
        for m in request.inputs
    ]
    if request.instructions:
        asked.append(
            Message(
                conversation=conversation,
                role=Message.Role.SYSTEM,
                content=request.instructions,
                api_fields={"instructions": True},
            )
        )
    # The first follows the earlier response's answer; each other one the message stored
    # before it (see webui.chat.versions), and the answer the last of them.
    asked[0].parent = previous.answer if previous is not None else None
    Message.objects.bulk_create(asked)
    answer = answers.queue(
        conversation=conversation,
        model=model,
        parent=asked[-1],
        sampling={**request.sampling, "via": "api"},
    )
    if request.store:
        ApiResponse.objects.create(answer=answer, previous=previous, settings=request.echo)
    return answer


def response_settle(finished) -> None:
    """Keep the answer as the chat path keeps an assistant's turn: the tool calls it made in
    api_fields, with the ids its client was given, and its text beside them; a later turn's
    prompt and GET /v1/responses/{id} read them so."""
    reading = finished.reading
    if reading.calls:
        Message.objects.filter(pk=finished.message.pk).update(
            content=reading.content or "", api_fields={"tool_calls": reading.calls}
        )


@transaction.atomic
def response_delete(*, response: ApiResponse) -> None:
    """Delete the response: its answer and input messages, and every response that
    continues it (their history is gone with it)."""
    answer = response.answer
    parents = versions.effective_parents(versions.tree_rows(answer.conversation_id))
    stop_at = response.previous_id  # the earlier response's answer (its primary key)
    first, node = answer.pk, parents.get(answer.pk)
    while node is not None and node != stop_at:
        first, node = node, parents.get(node)
    doomed = Message.objects.filter(pk__in={first, *versions.descendants(first, parents)})
    for running in doomed.filter(status__in=Message.ACTIVE_STATUSES):
        answers.stop(message=running)  # the GPU is for answers someone still wants
    doomed.delete()
    if not Message.objects.filter(conversation_id=answer.conversation_id).exists():
        Conversation.objects.filter(pk=answer.conversation_id).delete()
