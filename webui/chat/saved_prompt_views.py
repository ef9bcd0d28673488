"""The saved prompts page (list, create, edit, delete: the owner's own) and the list the
composer's `/` menu reads (the member's own and those shared with their groups)."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webui.chat import saved_prompts
from webui.chat.models import SavedPrompt


def _form_values(request) -> dict:
    return {
        "title": request.POST.get("title", ""),
        "text": request.POST.get("text", ""),
        "groups": request.POST.getlist("groups"),
    }


def _page(request, template: str, *, status: int = 200, **context):
    context.update(
        {
            "my_groups": request.user.groups.order_by("name"),
            "limits": SavedPrompt,
        }
    )
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def index(request):
    """The member's prompts and those shared with them; a POST saves a new one."""
    if request.method == "POST":
        values = _form_values(request)
        try:
            saved_prompts.prompt_create(owner=request.user, **values)
        except saved_prompts.PromptRejected as exc:
            return _list_page(request, error=str(exc), values=values, status=400)
        return redirect("chat:prompts")
    return _list_page(request)


def _list_page(request, *, error: str = "", values: dict | None = None, status: int = 200):
    prompts = saved_prompts.prompts_for(user=request.user).prefetch_related("groups")
    return _page(
        request,
        "chat/saved_prompts.html",
        status=status,
        prompts=prompts,
        error=error,
        values=values or {"title": "", "text": "", "groups": []},
    )


@require_http_methods(["GET", "POST"])
@login_required
def edit(request, prompt_id: int):
    """Change one of the member's own prompts."""
    prompt = saved_prompts.prompt_get(user=request.user, id=prompt_id)
    if request.method == "POST":
        values = _form_values(request)
        try:
            saved_prompts.prompt_update(prompt=prompt, **values)
        except saved_prompts.PromptRejected as exc:
            return _page(
                request,
                "chat/saved_prompts_edit.html",
                prompt=prompt,
                error=str(exc),
                values=values,
                status=400,
            )
        return redirect("chat:prompts")
    values = {
        "title": prompt.title,
        "text": prompt.text,
        "groups": [str(pk) for pk in prompt.groups.values_list("pk", flat=True)],
    }
    return _page(request, "chat/saved_prompts_edit.html", prompt=prompt, values=values)


@require_POST
@login_required
def delete(request, prompt_id: int):
    """Delete one of the member's own prompts (the page asks first)."""
    prompt = saved_prompts.prompt_get(user=request.user, id=prompt_id)
    saved_prompts.prompt_delete(prompt=prompt)
    return redirect("chat:prompts")


@require_GET
@login_required
def menu(request):
    """The prompts for the composer's `/` menu, as JSON: the text in literal and variable
    parts, so the page fills the variables without parsing the text itself."""
    prompts = saved_prompts.prompts_for(user=request.user)
    return JsonResponse(
        {
            "manage_url": reverse("chat:prompts"),
            "prompts": [
                {
                    "id": p.pk,
                    "title": p.title,
                    "shared_by": "" if p.owner_id == request.user.pk else p.owner.username,
                    "variables": saved_prompts.variables_of(p.text),
                    "parts": saved_prompts.parts_of(p.text),
                }
                for p in prompts
            ],
        }
    )
