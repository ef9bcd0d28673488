"""Folders in the sidebar: the forms there post here and come back to the page they were
on; a refused name comes back on the folders page, which also manages them without script."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webui.chat import folders
from webui.chat.models import Folder


def _back(request):
    """Back to the page the form was on (only this site's), else the folders page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("chat:folders")


def _page(request, *, error: str = "", name: str = "", status: int = 200):
    return render(
        request,
        "chat/folders.html",
        {
            "folders": folders.folder_list(user=request.user),
            "error": error,
            "name": name,
            "limits": Folder,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def index(request):
    """The member's folders; a POST makes a new one."""
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            folders.folder_create(owner=request.user, name=name)
        except folders.FolderRejected as exc:
            return _page(request, error=str(exc), name=name, status=400)
        return _back(request)
    return _page(request)


@require_GET
@login_required
def folder(request, folder_id: int):
    """Every conversation in one folder (the sidebar shows its first few)."""
    found = folders.folder_get(user=request.user, id=folder_id)
    return render(
        request,
        "chat/folder.html",
        {"folder": found, "conversations": folders.folder_conversations(folder=found)},
    )


@require_POST
@login_required
def rename(request, folder_id: int):
    folder = folders.folder_get(user=request.user, id=folder_id)
    try:
        folders.folder_rename(folder=folder, name=request.POST.get("name", ""))
    except folders.FolderRejected as exc:
        return _page(request, error=str(exc), status=400)
    return _back(request)


@require_POST
@login_required
def delete(request, folder_id: int):
    folders.folder_delete(folder=folders.folder_get(user=request.user, id=folder_id))
    return _back(request)


@require_POST
@login_required
def collapse(request, folder_id: int):
    """Remember a folder shown closed or open (the sidebar's script posts on each toggle)."""
    folder = folders.folder_get(user=request.user, id=folder_id)
    folders.folder_collapse(folder=folder, collapsed=request.POST.get("collapsed") == "1")
    return HttpResponse(status=204)


@require_POST
@login_required
def file(request):
    """File a conversation in a folder, or take it out of its folder (no folder)."""
    conversation = folders.conversation_file(
        user=request.user,
        conversation_id=request.POST.get("conversation", ""),
        folder_id=request.POST.get("folder", ""),
    )
    if not request.POST.get("next"):
        return redirect(reverse("chat:conversation", args=[conversation.pk]))
    return _back(request)
