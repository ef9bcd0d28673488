"""Per-conversation settings, sharing by link, and the models' live states."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from webui.chat import paging, selectors, sharing
from webui.chat.conversation_settings import SettingsForm
from webui.chat.model_states import enabled_model_states
from webui.chat.presentation import view_of
from webui.chat.views import _page


@require_POST
@login_required
def settings(request, conversation_id: int):
    current = selectors.conversation_get(user=request.user, id=conversation_id)
    # The form changes its instance as it validates: give it its own copy.
    editing = selectors.conversation_get(user=request.user, id=conversation_id)
    form = SettingsForm(request.POST, instance=editing, user=request.user)
    if form.is_valid():
        form.save()
        return redirect(current)
    page = paging.conversation_page(current)
    return _page(
        request,
        "chat/conversation.html",
        conversation=current,
        messages=[view_of(m) for m in page.messages],
        earlier=page,
        settings_form=form,
        status=400,
    )


@require_GET
@login_required
def earlier(request, conversation_id: int):
    """The page of messages before `before`, for htmx to put above those shown."""
    current = selectors.conversation_get(user=request.user, id=conversation_id)
    try:
        before = int(request.GET.get("before", ""))
    except ValueError:
        before = None
    page = paging.conversation_page(current, before=before)
    context = {
        "conversation": current,
        "earlier": page,
        "messages": [view_of(m) for m in page.messages],
    }
    return render(request, "chat/_earlier_page.html", context)


@require_POST
@login_required
def share(request, conversation_id: int):
    """Share (or, with action=unshare, stop sharing) the conversation by link."""
    current = selectors.conversation_get(user=request.user, id=conversation_id)
    if request.POST.get("action") == "unshare":
        sharing.conversation_unshare(conversation=current)
    else:
        sharing.conversation_share(conversation=current)
    return redirect(current)


@require_GET
@login_required
def shared(request, token: str):
    """A conversation someone shared: read-only, for any member who is logged in."""
    conversation = sharing.shared_conversation_get(token=token)
    messages = sharing.shared_messages(conversation=conversation)
    return render(request, "chat/shared.html", {"shared": conversation, "messages": messages})


@require_GET
@login_required
def model_states(request):
    return JsonResponse({"models": [s.as_json() for s in enabled_model_states(request.user)]})
