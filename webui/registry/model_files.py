"""The server hands model files to worker hosts: worker tokens only, resumable by Range.

A worker on another host that lacks its model's file (or holds a different one) fetches
it here (inference/worker/model_fetch.py) and checks it against the registry's SHA-256
before it loads it. No member's session or API key is accepted.
"""

import re
from pathlib import Path

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from webui.registry import worker_tokens
from webui.registry.models import LLMModel
from webui.registry.paths import OutsideModelsDir, allowed_model_path

CHUNK = 1 << 20
RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def _refusal(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _slice(path: Path, start: int, length: int):
    with path.open("rb") as file:
        file.seek(start)
        while length > 0:
            chunk = file.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


@csrf_exempt
@require_safe
def model_file(request, slug: str):
    """The file of the model registered as `slug`, whole or from a byte offset."""
    token = worker_tokens.from_header(request.headers.get("Authorization", ""))
    if token is None:
        return _refusal(
            401,
            "A worker token is needed (Authorization: Bearer hfw_…); make one in admin or "
            "with `manage.py create_worker_token`.",
            WWW_Authenticate='Bearer realm="homefire-workers"',
        )
    record = LLMModel.objects.filter(slug=slug).first()
    if record is None:
        return _refusal(404, f"No model is registered as {slug!r}.")
    try:
        path = allowed_model_path(record.path)
    except OutsideModelsDir:
        return _refusal(404, f"{slug}'s file is outside the models folder.")
    if not path.is_file():
        return _refusal(404, f"{slug}'s file is missing on the server.")
    if not record.sha256:
        return _refusal(
            409,
            f"The server has not checked {slug}'s SHA-256 yet; ask again shortly.",
            Retry_After="10",
        )
    size = path.stat().st_size
    start, end = 0, size - 1
    if ranged := request.headers.get("Range"):
        match = RANGE.match(ranged.strip())
        if not match or int(match.group(1)) >= size:
            return _refusal(
                416, "The range asked for is not in the file.", Content_Range=f"bytes */{size}"
            )
        start = int(match.group(1))
        end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        if end < start:
            return _refusal(
                416, "The range asked for is not in the file.", Content_Range=f"bytes */{size}"
            )
    length = end - start + 1
    if request.method == "HEAD":
        response = HttpResponse(status=206 if ranged else 200)
    else:
        response = StreamingHttpResponse(_slice(path, start, length), status=206 if ranged else 200)
    response["Content-Type"] = "application/octet-stream"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{record.sha256}"'
    response["X-Homefire-SHA256"] = record.sha256
    response["Content-Disposition"] = f'attachment; filename="{path.name}"'
    if ranged:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response
