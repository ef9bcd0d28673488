"""Downloads of one's conversations (Markdown, JSON) and the page that imports JSON back,
Homefire's own or another app's (webui.chat.transfer_foreign)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from webui.chat import selectors, transfer, transfer_checks

TYPES = {"md": "text/markdown; charset=utf-8", "json": "application/json"}


def _download(body: str, *, filename: str, kind: str) -> HttpResponse:
    response = HttpResponse(body, content_type=TYPES[kind])
    response["Content-Disposition"] = content_disposition_header(True, f"{filename}.{kind}")
    return response


@require_GET
@login_required
def export_one(request, conversation_id: int, kind: str):
    conversations = selectors.conversations_for_export(user=request.user, id=conversation_id)
    title = slugify(conversations[0].title)[:50] or "conversation"
    exporter = transfer.export_markdown if kind == "md" else transfer.export_json
    body = exporter(conversations)
    return _download(body, filename=f"homefire-{conversation_id}-{title}", kind=kind)


@require_GET
@login_required
def export_all(request):
    conversations = selectors.conversations_for_export(user=request.user)
    return _download(transfer.export_json(conversations), filename="homefire", kind="json")


def _bounds() -> dict[str, str]:
    return {
        "max_messages": f"{transfer_checks.max_messages():,}",
        "max_chars": f"{settings.HOMEFIRE['MAX_MESSAGE_CHARS']:,}",
        "max_mb": f"{transfer_checks.MAX_IMPORT_MB}",
    }


@require_http_methods(["GET", "POST"])
@login_required
def import_page(request):
    context, status = {"bounds": _bounds()}, 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise transfer.ImportRejected("Choose a JSON file to import.")
            if upload.size > transfer_checks.MAX_IMPORT_BYTES:
                raise transfer.ImportRejected(transfer_checks.TOO_LARGE)
            context["imported"] = transfer.conversations_import(
                owner=request.user, raw=upload.read()
            )
        except transfer.ImportRejected as exc:
            context["error"], status = str(exc), 400
        except transfer.ImportInterrupted as exc:
            context["error"], status = str(exc), 503
    return render(request, "chat/import.html", context, status=status)
