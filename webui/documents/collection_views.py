"""The collections pages: create a collection, add files to it, share it, delete.

Everything a member may read is listed (access.py decides); only the owner changes a
collection. Another member's collection, or one not shared with them, is a 404.
"""

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webui.documents import access, services
from webui.documents.errors import DocumentRefused
from webui.documents.forms import CollectionForm, ShareForm
from webui.documents.models import Document
from webui.documents.uploads import MAX_FILES, accepts_documents, upload_refusal


def _visible(user):
    return (
        access.visible_collections(user)
        .select_related("owner")
        .annotate(files=Count("documents"))
        .order_by("name")
    )


@require_http_methods(["GET", "POST"])
@login_required
def collections(request):
    """The member's collections and those shared with them; POST creates one."""
    form = CollectionForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_collection(
                request.user,
                form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except DocumentRefused as exc:
            form.add_error("name", exc.message)
        else:
            return redirect("documents:collection", created.pk)
    status = 400 if form.errors else 200
    context = {"collections": _visible(request.user), "form": form}
    return render(request, "documents/collections.html", context, status=status)


def _page(request, collection, **context):
    mine = collection.owner_id == request.user.pk
    files = collection.documents.order_by("name", "pk").defer("sha256", "stored_as")
    context = {
        "collection": collection,
        "mine": mine,
        "files": files,
        "indexing": files.filter(status=Document.Status.INDEXING).exists(),
        "share_form": ShareForm(initial={"groups": collection.groups.all()}, owner=request.user)
        if mine
        else None,
        **context,
    }
    if request.headers.get("HX-Request"):
        return render(request, "documents/_collection_files.html", context)
    return render(request, "documents/collection.html", context, status=context.get("status", 200))


@require_GET
@login_required
def collection(request, collection_id: int):
    """A collection's files (polled while some are being indexed)."""
    found = access.usable_collection(request.user, collection_id)
    if found is None:
        raise Http404("No such collection.")
    return _page(request, found)


def _owned(request, collection_id: int):
    found = access.owned_collection(request.user, collection_id)
    if found is None:
        raise Http404("No such collection.")
    return found


@require_POST
@login_required
@accepts_documents
def upload(request, collection_id: int):
    """Add files to the collection; each is indexed in the background."""
    found = _owned(request, collection_id)
    if refusal := upload_refusal(request):
        return _page(request, found, refused=[refusal], status=400)
    files = request.FILES.getlist("files")
    refused = []
    if not files:
        refused.append("Choose one or more files first.")
    elif len(files) > MAX_FILES:
        refused.append(f"Add at most {MAX_FILES} files at once.")
        files = []
    for upload_file in files:
        try:
            services.add_document(request.user, upload_file, collection=found)
        except DocumentRefused as exc:
            refused.append(f"{upload_file.name}: {exc.message}")
    if refused:
        return _page(request, found, refused=refused, status=400)
    return redirect("documents:collection", found.pk)


@require_POST
@login_required
def share(request, collection_id: int):
    found = _owned(request, collection_id)
    form = ShareForm(request.POST, owner=request.user)
    if not form.is_valid():
        return _page(request, found, share_errors=form.errors, status=400)
    try:
        services.share_collection(request.user, found.pk, form.cleaned_data["groups"])
    except DocumentRefused as exc:
        return _page(request, found, share_errors={"groups": [exc.message]}, status=400)
    return redirect("documents:collection", found.pk)


@require_POST
@login_required
def delete(request, collection_id: int):
    found = _owned(request, collection_id)
    services.delete_collection(request.user, found.pk)
    return redirect("documents:collections")


@require_POST
@login_required
def delete_file(request, document_id: int):
    document = access.owned_document(request.user, document_id)
    if document is None:
        raise Http404("No such file.")
    services.delete_document(request.user, document.pk)
    if document.collection_id:
        return redirect("documents:collection", document.collection_id)
    return redirect("documents:collections")


@require_GET
@login_required
def menu(request):
    """The collections the member may use, for the composer's #name list (JSON)."""
    rows = _visible(request.user)
    return JsonResponse(
        {
            "collections": [
                {
                    "id": c.pk,
                    "name": c.name,
                    "files": c.files,
                    "shared_by": "" if c.owner_id == request.user.pk else c.owner.username,
                }
                for c in rows
            ]
        }
    )
