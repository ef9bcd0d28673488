"""Pages of the chat: new conversation, a conversation, arranging, searching and stopping."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webui.chat import paging, search, selectors, services, temporary
from webui.chat.presentation import view_of
from webui.team.access import default_model_for, models_for

# Far past any team's conversations (50 a page).
MAX_SIDEBAR_PAGE = 1_000_000


def _page(request, template: str, **context):
    context["models"] = models_for(request.user)
    return render(request, template, context, status=context.pop("status", 200))


@require_GET
@login_required
def home(request):
    return _page(
        request,
        "chat/home.html",
        temporary=request.GET.get("temporary") == "1",
        temporary_ended=request.GET.get("ended") == "temporary",
    )


@require_POST
@login_required
def leave(request, conversation_id: int):
    """The tab showing a temporary chat left it (navigator.sendBeacon on pagehide)."""
    current = selectors.conversation_get(user=request.user, id=conversation_id)
    if current.is_temporary:
        temporary.tab_left(current, request.session, at_once=request.POST.get("reload") == "1")
    return HttpResponse(status=204)


@require_GET
@login_required
def archived(request):
    return render(request, "chat/archived.html", {"sidebar_archived": True})


def _page_number(value: str) -> int | None:
    """A page number from the URL: a whole number from 1 to MAX_SIDEBAR_PAGE, or None
    (a bigger one would overflow the database's row offset)."""
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_SIDEBAR_PAGE)):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_SIDEBAR_PAGE else None


@require_GET
@login_required
def sidebar_page(request):
    """The next page of sidebar links, for htmx to append as the list scrolls."""
    number = _page_number(request.GET.get("page", "1"))
    if number is None:
        return HttpResponseBadRequest("No such page of the sidebar.", content_type="text/plain")
    page = selectors.conversation_sidebar(
        user=request.user, archived=request.GET.get("archived") == "1", page=number
    )
    return render(request, "chat/_sidebar_page.html", {"page": page})


@require_POST
@login_required
def start(request):
    content = request.POST.get("content", "")
    model = models_for(request.user).filter(slug=request.POST.get("model", "")).first()
    model = model or default_model_for(request.user)
    temporary = request.POST.get("temporary") == "1"
    try:
        conversation = services.conversation_start(
            owner=request.user, content=content, model=model, temporary=temporary
        )
    except services.MessageRejected as exc:
        # Keep the user's words in the composer, with the reason beside them.
        return _page(
            request,
            "chat/home.html",
            error=str(exc),
            content=content,
            temporary=temporary,
            status=400,
        )
    if request.headers.get("HX-Request") != "true":
        return redirect(conversation)
    if temporary:
        # A temporary chat lives with its tab's page (static/js/temporary.js): a full load.
        return HttpResponse(status=204, headers={"HX-Redirect": conversation.get_absolute_url()})
    # The composer's htmx post (templates/chat/home.html): the conversation's page comes in
    # this answer and replaces the body, with no redirect and no new page to load while
    # the worker reads the question; the address bar follows.
    response = _conversation_page(request, conversation)
    response["HX-Push-Url"] = conversation.get_absolute_url()
    return response


@require_GET
@login_required
def conversation(request, conversation_id: int):
    try:
        current = selectors.conversation_get(user=request.user, id=conversation_id)
    except Http404:
        if conversation_id in request.session.get(temporary.ENDED_KEY, []):
            return redirect(f"{reverse('chat:home')}?ended=temporary")
        raise
    return _conversation_page(request, current, everything=request.GET.get("all") == "1")


def _conversation_page(request, current, *, everything: bool = False, **context):
    """The conversation at its last page of messages (every message, with `everything`)."""
    page = paging.conversation_page(current, everything=everything)
    messages = [view_of(m) for m in page.messages]
    return _page(
        request,
        "chat/conversation.html",
        conversation=current,
        messages=messages,
        earlier=page,
        **context,
    )


@require_POST
@login_required
def rename(request, conversation_id: int):
    current = selectors.conversation_get(user=request.user, id=conversation_id)
    try:
        services.conversation_rename(conversation=current, title=request.POST.get("title", ""))
    except services.MessageRejected as exc:
        return _conversation_page(request, current, rename_error=str(exc), status=400)
    return redirect(current)


@require_POST
@login_required
def arrange(request, conversation_id: int):
    """Pin, unpin, archive or unarchive, as the button pressed says."""
    current = selectors.conversation_get(user=request.user, id=conversation_id)
    changes = {
        "pin": {"pinned": True},
        "unpin": {"pinned": False},
        "archive": {"archived": True},
        "unarchive": {"archived": False},
    }.get(request.POST.get("action", ""))
    if changes:
        services.conversation_arrange(conversation=current, **changes)
    return redirect(current)


@require_http_methods(["GET", "POST"])
@login_required
def delete(request, conversation_id: int):
    """GET asks for confirmation (when the dialog in chat.js did not); POST deletes."""
    current = selectors.conversation_get(user=request.user, id=conversation_id)
    if request.method == "POST":
        services.conversation_delete(conversation=current)
        return redirect("chat:home")
    return _page(request, "chat/confirm_delete.html", conversation=current)


@require_GET
@login_required
def search_page(request):
    query = request.GET.get("q", "").strip()
    results = search.conversation_search(user=request.user, query=query) if query else []
    return render(request, "chat/search.html", {"query": query, "results": results})


@require_POST
@login_required
def stop(request, message_id: int):
    message = selectors.message_get(user=request.user, id=message_id)
    services.message_stop(message=message)
    return redirect(message.conversation)
