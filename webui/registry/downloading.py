"""Fetch a GGUF file from an HTTP(S) URL into the models folder, resumably.

The bytes go to `<name>.part` beside the final file. A cut connection is resumed with an
HTTP Range request that appends to the .part file; an admin's "Resume" does the same
after a worker died. The file is checked (SHA-256 when one is expected, then as a GGUF)
before it takes its final name, and it is registered in the same transaction as the
rename: a refused file leaves no model row and no .part behind.

Only public addresses are reached, unless an admin allows others (webui.registry.destination),
and what a refused or non-GGUF answer held is described to the admin, never shown.
"""

import hashlib
import logging
import os
import re
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from webui.registry import destination
from webui.registry.gguf_info import GGUF_MAGIC, NotAGGUF
from webui.registry.models import LLMModel, ModelDownload
from webui.registry.paths import OutsideModelsDir, resolve_model_path
from webui.registry.registering import inspect_new_file, register_file
from webui.registry.template_check import TemplateRefused

log = logging.getLogger(__name__)

ATTEMPTS = 5
CHUNK = 1 << 20
PROGRESS_SECONDS = 0.5
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# A download whose progress was last saved this long ago has lost its worker.
STALE_SECONDS = 120
_SAFE_NAME = re.compile(r"^[\w][\w.+-]*\.gguf$", re.IGNORECASE)
_MEDIA_TYPE = re.compile(r"^[\w.+-]{1,60}/[\w.+-]{1,60}$")


class DownloadRefused(Exception):
    """The download cannot go on; the text says why, for the admin."""


class _Cut(Exception):
    """The connection ended before the whole file arrived; resume from where it stopped."""


def filename_from_url(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def check_filename(name: str) -> str:
    """The name a downloaded or uploaded file may take in the models folder, or ValueError."""
    name = name.strip()
    if not _SAFE_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a usable file name: a .gguf name of letters, digits, '.', "
            "'-', '_' or '+', without folders."
        )
    return name


def target_path(name: str) -> Path:
    """Where a new file called name goes, inside the models folder; refused if taken."""
    models_dir = Path(settings.HOMEFIRE["MODELS_DIR"])
    try:
        target = resolve_model_path(check_filename(name), models_dir)
    except OutsideModelsDir as exc:
        raise ValueError(str(exc)) from None
    if target.exists():
        raise ValueError(f"{name} already exists in the models folder.")
    return target


def part_path(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def claim(download_id: int) -> ModelDownload | None:
    """Take a queued download for this process; None if another has it or it is over."""
    taken = ModelDownload.objects.filter(pk=download_id, state=ModelDownload.State.QUEUED).update(
        state=ModelDownload.State.DOWNLOADING, error=""
    )
    return ModelDownload.objects.get(pk=download_id) if taken else None


def run(download_id: int, *, attempts: int = ATTEMPTS) -> ModelDownload | None:
    """Download, check and register one queued download; the row tells how it went."""
    download = claim(download_id)
    if download is None:
        return None
    try:
        target = target_path(download.filename)
        part = part_path(target)
        part.parent.mkdir(parents=True, exist_ok=True)
        _fetch(download, part, attempts)
        _save(download, state=ModelDownload.State.VERIFYING)
        digest = _verify(download, part)
        model = _register(download, part, target, digest)
    except (DownloadRefused, destination.Refused, ValueError) as exc:
        _save(download, state=ModelDownload.State.FAILED, error=str(exc))
        log.warning("download %s failed: %s", download.pk, exc)
        return download
    except Exception as exc:
        log.exception("download %s failed", download.pk)
        # An HTTP library's message may quote what the server sent: only its kind is shown.
        detail = type(exc).__name__ if isinstance(exc, httpx.HTTPError) else f"{exc}"
        reason = f"Download failed ({type(exc).__name__}: {detail}). Resume to try again."
        _save(download, state=ModelDownload.State.FAILED, error=reason)
        return download
    _save(download, state=ModelDownload.State.DONE, model=model)
    log.info("downloaded %s as model %s", download.url, model.slug)
    return download


def _save(download: ModelDownload, **fields) -> None:
    for name, value in fields.items():
        setattr(download, name, value)
    ModelDownload.objects.filter(pk=download.pk).update(**fields, updated_at=timezone.now())


def _fetch(download: ModelDownload, part: Path, attempts: int) -> None:
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            _fetch_once(download, part)
            return
        except (_Cut, httpx.TransportError) as exc:
            # Failing to connect is told in our own words; other errors may quote the server.
            last = f" (last: {exc})" if isinstance(exc, httpx.ConnectError) else ""
            done = part.stat().st_size if part.exists() else 0
            log.info(
                "download %s cut at %s bytes (%s); attempt %s", download.pk, done, exc, attempt
            )
            _save(download, bytes_done=done)
            if attempt < attempts:
                time.sleep(min(0.2 * 2**attempt, 5))
    done = part.stat().st_size if part.exists() else 0
    total = f" of {download.bytes_total}" if download.bytes_total else ""
    raise DownloadRefused(
        f"The connection was lost {attempts} times{last}; {done}{total} bytes are kept. "
        "Resume the download to continue from there."
    )


def _fetch_once(download: ModelDownload, part: Path) -> None:
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with destination.get(download.url, headers=headers, timeout=TIMEOUT) as response:
        if response.status_code == 416 and offset and offset == download.bytes_total:
            return  # everything had arrived before the cut
        if response.status_code == 206 and offset:
            start, total = _content_range(response.headers.get("content-range", ""))
            if start != offset:
                raise DownloadRefused(
                    f"The server resumed at byte {start}, not {offset}; delete and start again."
                )
            mode = "ab"
        elif response.status_code == 200:
            offset, mode = 0, "wb"  # no resume offered: start over
            total = _int(response.headers.get("content-length"))
        else:
            raise DownloadRefused(
                f"The server answered HTTP {response.status_code} ({_describe(response)}) "
                f"for {download.url}. Nothing was kept."
            )
        _save(download, bytes_total=total, bytes_done=offset)
        received = offset
        last_save = time.monotonic()
        head = _head(part) if offset else b""
        with part.open(mode) as file:
            for chunk in response.iter_bytes():
                if len(head) < len(GGUF_MAGIC):
                    head = (head + chunk)[: len(GGUF_MAGIC)]
                    _check_start(part, file, head, response)
                file.write(chunk)
                received += len(chunk)
                if time.monotonic() - last_save >= PROGRESS_SECONDS:
                    file.flush()
                    _save(download, bytes_done=received)
                    last_save = time.monotonic()
        _save(download, bytes_done=received)
        if total is not None and received < total:
            raise _Cut(f"{received} of {total} bytes")


def _head(part: Path) -> bytes:
    with part.open("rb") as file:
        return file.read(len(GGUF_MAGIC))


def _check_start(part: Path, file, head: bytes, response: httpx.Response) -> None:
    """Refuse at once a file that does not start like a GGUF (an HTML error page, say).

    What it held is not shown: the URL may lead somewhere the admin should not read from.
    """
    if not GGUF_MAGIC.startswith(head):
        file.close()
        part.unlink(missing_ok=True)
        raise DownloadRefused(
            f"Not a GGUF file: what the server sent ({_describe(response)}) does not start "
            "as a GGUF model does. Nothing was kept."
        )


def _describe(response: httpx.Response) -> str:
    """The kind and size of an answer's body, from its headers (never from the body)."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if not media_type:
        media_type = "no content type"
    elif not _MEDIA_TYPE.match(media_type):
        media_type = "an unusual content type"
    size = _int(response.headers.get("content-length"))
    return f"{media_type}, {'size not given' if size is None else f'{size} bytes'}"


def _content_range(value: str) -> tuple[int, int | None]:
    match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", value)
    if not match:
        raise DownloadRefused(
            f"The server sent a partial answer without a usable Content-Range ({value!r})."
        )
    return int(match.group(1)), _int(match.group(2))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(download: ModelDownload, part: Path) -> str:
    """The file's SHA-256, once it matched the expected one and reads as a whole GGUF whose
    chat template renders within the limits."""
    digest = file_sha256(part)
    if download.expected_sha256 and digest != download.expected_sha256:
        part.unlink(missing_ok=True)
        raise DownloadRefused(
            f"SHA-256 mismatch: expected {download.expected_sha256}, got {digest}. "
            "The file was deleted."
        )
    try:
        inspect_new_file(part)
    except (NotAGGUF, TemplateRefused) as exc:
        part.unlink(missing_ok=True)
        reason = str(exc).replace(str(part), download.filename).rstrip(".")
        raise DownloadRefused(f"Refused: {reason}. The file was deleted.") from None
    return digest


def _register(download: ModelDownload, part: Path, target: Path, digest: str) -> LLMModel:
    """Give the file its final name and its model row together, or neither."""
    if target.exists():
        raise DownloadRefused(f"{target.name} appeared in the models folder meanwhile.")
    with transaction.atomic():
        os.replace(part, target)
        try:
            return register_file(target, sha256=digest)
        except BaseException:
            os.replace(target, part)
            raise
