"""The files and collections of a conversation, drawn above its composer.

static/js/attachments.js posts the files (chosen or dropped) and the collections chosen
with #name; htmx polls the panel while a file is being indexed and posts its remove
buttons. Every view answers with the panel, drawn again.
"""

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from webui.chat import attachments, selectors
from webui.documents import access
from webui.documents.uploads import accepts_documents, upload_refusal
from webui.team.access import default_model_for, models_for

_REFUSED_KEY = "homefire:attach-refused:{}"


def _panel(request, conversation, *, refused=()):
    """The panel, or (for a page without script) the conversation."""
    if not request.headers.get("HX-Request"):
        return redirect(conversation)
    refused = [*request.session.pop(_REFUSED_KEY.format(conversation.pk), []), *refused]
    return render(request, "chat/_attachments.html", attachments.panel(conversation, refused))


@require_http_methods(["GET", "POST"])
@login_required
@accepts_documents
def panel(request, conversation_id: int):
    """GET: the panel (polled while files are indexed). POST: attach the files sent."""
    conversation = selectors.conversation_get(user=request.user, id=conversation_id)
    refused = []
    if request.method == "POST":
        if refusal := upload_refusal(request):
            refused = [refusal]
        else:
            files = request.FILES.getlist("files")
            refused = attachments.files_attach(conversation=conversation, files=files).refused
    return _panel(request, conversation, refused=refused)


@require_POST
@login_required
def remove(request, conversation_id: int, document_id: int):
    conversation = selectors.conversation_get(user=request.user, id=conversation_id)
    if not attachments.file_remove(conversation=conversation, document_id=document_id):
        raise Http404("No such file in this conversation.")
    return _panel(request, conversation)


@require_POST
@login_required
def link(request, conversation_id: int):
    """Use a collection (chosen with #name) in the conversation's questions."""
    conversation = selectors.conversation_get(user=request.user, id=conversation_id)
    collection_id = request.POST.get("collection")
    if attachments.collection_link(conversation=conversation, collection_id=collection_id) is None:
        raise Http404("No such collection.")
    return _panel(request, conversation)


@require_POST
@login_required
def unlink(request, conversation_id: int, collection_id: int):
    conversation = selectors.conversation_get(user=request.user, id=conversation_id)
    attachments.collection_unlink(conversation=conversation, collection_id=collection_id)
    return _panel(request, conversation)


@require_POST
@login_required
@accepts_documents
def start(request):
    """Files or a collection chosen on the new-conversation page: start the conversation
    with them, and tell the page where it is (JSON: {"location"} or {"refused"})."""
    if refusal := upload_refusal(request):
        return JsonResponse({"refused": [refusal]}, status=400)
    files = request.FILES.getlist("files")
    collection = None
    if "collection" in request.POST:
        collection = access.usable_collection(request.user, request.POST["collection"])
        if collection is None:
            raise Http404("No such collection.")
    if not files and collection is None:
        return JsonResponse({"refused": ["Choose a file or a collection."]}, status=400)
    model = models_for(request.user).filter(slug=request.POST.get("model", "")).first()
    model = model or default_model_for(request.user)
    if model is None:
        return JsonResponse({"refused": ["No model is available. Ask an admin."]}, status=400)
    title = collection.name if collection else attachments.shown_name(files[0])
    with transaction.atomic():
        conversation = attachments.conversation_open(owner=request.user, title=title, model=model)
        attached = attachments.files_attach(conversation=conversation, files=files)
        if collection is not None:
            attachments.collection_link(conversation=conversation, collection_id=collection.pk)
        elif not attached.documents:
            # Nothing to start a conversation with: no empty conversation is left behind.
            transaction.set_rollback(True)
            return JsonResponse({"refused": attached.refused}, status=400)
    if attached.refused:
        request.session[_REFUSED_KEY.format(conversation.pk)] = attached.refused
    return JsonResponse({"location": conversation.get_absolute_url()}, status=201)
