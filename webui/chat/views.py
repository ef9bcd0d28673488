"""Pages of the chat: the new-conversation page, a conversation, and stopping an answer."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from webui.chat import selectors, services
from webui.chat.presentation import view_of
from webui.registry.models import LLMModel


def _page(request, template: str, **context):
    context["conversations"] = selectors.conversation_list(user=request.user)[:200]
    context["models"] = LLMModel.objects.filter(enabled=True)
    return render(request, template, context, status=context.pop("status", 200))


@require_GET
@login_required
def home(request):
    return _page(request, "chat/home.html")


@require_POST
@login_required
def start(request):
    content = request.POST.get("content", "")
    model = LLMModel.objects.filter(enabled=True, slug=request.POST.get("model", "")).first()
    try:
        conversation = services.conversation_start(owner=request.user, content=content, model=model)
    except services.MessageRejected as exc:
        # Keep the user's words in the composer, with the reason beside them.
        return _page(request, "chat/home.html", error=str(exc), content=content, status=400)
    return redirect(conversation)


@require_GET
@login_required
def conversation(request, conversation_id: int):
    current = selectors.conversation_get(user=request.user, id=conversation_id)
    services.reap_orphans()
    messages = [view_of(m) for m in selectors.conversation_messages(conversation=current)]
    return _page(request, "chat/conversation.html", conversation=current, messages=messages)


@require_POST
@login_required
def stop(request, message_id: int):
    message = selectors.message_get(user=request.user, id=message_id)
    services.message_stop(message=message)
    return redirect(message.conversation)
