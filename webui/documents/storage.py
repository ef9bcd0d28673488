"""The documents store: uploaded files on disk, outside the web root, under random names.

Files live in HOMEFIRE_DOCUMENTS_DIR (var/documents by default), in a folder only
Homefire's user can read, each as `<2 hex>/<32 hex>` with no extension: nothing there is
named by the uploader, nothing is executable, and no URL maps onto the folder. A file is
read back only through code that has checked access (webui.documents.access).
"""

import hashlib
import os
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from webui.documents.errors import DocumentRefused
from webui.documents.models import Document

_NAME = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 1024 * 1024


def root() -> Path:
    folder = Path(settings.HOMEFIRE["DOCUMENTS_DIR"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def path_of(stored_as: str) -> Path:
    """Where a stored file is; a name that is not one of ours is refused (no traversal)."""
    if not _NAME.match(stored_as or ""):
        raise ValueError(f"not a stored document name: {stored_as!r}")
    return root() / stored_as[:2] / stored_as


def save(chunks, *, max_bytes: int, refusal: str = "") -> tuple[str, int, str]:
    """Write the chunks (an uploaded file's .chunks()) under a new random name.

    Returns (stored_as, size, sha256). Past `max_bytes` the partial file is removed and
    DocumentRefused raised (with `refusal`, or the per-file limit's text): the limit holds
    whatever size the upload claimed.
    """
    stored_as = secrets.token_hex(16)
    target = path_of(stored_as)
    target.parent.mkdir(mode=0o700, exist_ok=True)
    partial = target.with_suffix(".part")
    digest, size = hashlib.sha256(), 0
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise DocumentRefused(refusal or too_large_text(max_bytes))
                digest.update(chunk)
                file.write(chunk)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return stored_as, size, digest.hexdigest()


def remove(stored_as: str) -> None:
    """Delete a stored file; one already gone is fine."""
    try:
        path_of(stored_as).unlink(missing_ok=True)
    except ValueError:
        return


def read_bytes(stored_as: str) -> bytes:
    return path_of(stored_as).read_bytes()


def sweep(age: timedelta) -> int:
    """Remove files older than `age` that no document row names (an upload that failed
    between storing its file and saving its row); return how many."""
    cutoff = time.time() - age.total_seconds()
    old = {
        path.name: path
        for path in root().glob("??/*")
        if (_NAME.match(path.name) or path.suffix == ".part") and path.stat().st_mtime < cutoff
    }
    known = set(
        Document.objects.filter(stored_as__in=list(old)).values_list("stored_as", flat=True)
    )
    gone = [path for name, path in old.items() if name not in known]
    for path in gone:
        path.unlink(missing_ok=True)
    return len(gone)


def too_large_text(max_bytes: int) -> str:
    return f"This file is larger than {_mb(max_bytes)}, the most a file may be here."


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
