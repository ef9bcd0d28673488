"""Store a GGUF file uploaded from admin in the models folder, checked like a download."""

import hashlib
import os
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from webui.registry.downloading import check_filename, part_path, target_path
from webui.registry.gguf_info import GGUF_MAGIC, NotAGGUF
from webui.registry.models import LLMModel
from webui.registry.registering import inspect_new_file, register_file
from webui.registry.template_check import TemplateRefused


class UploadRefused(ValueError):
    """The uploaded file is not kept; the text says why."""


def store_upload(upload: UploadedFile, filename: str = "") -> LLMModel:
    """Write the upload beside its final place, check it, then name and register it together."""
    name = filename.strip() or Path(upload.name or "").name
    try:
        target = target_path(check_filename(name))
    except ValueError as exc:
        raise UploadRefused(str(exc)) from None
    part = part_path(target)
    part.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        file = part.open("xb")
    except FileExistsError:
        raise UploadRefused(f"{name} is being uploaded or downloaded already.") from None
    try:
        with file:
            for chunk in upload.chunks():
                if file.tell() == 0 and not chunk.startswith(GGUF_MAGIC[: len(chunk)]):
                    raise UploadRefused(
                        f"Not a GGUF file: {name} starts with {chunk[:4]!r}, a GGUF starts "
                        f"with {GGUF_MAGIC!r}."
                    )
                file.write(chunk)
                digest.update(chunk)
        try:
            info = inspect_new_file(part)
        except (NotAGGUF, TemplateRefused) as exc:
            raise UploadRefused(str(exc).replace(str(part), name)) from None
        with transaction.atomic():
            os.replace(part, target)
            try:
                return register_file(target, info=info, sha256=digest.hexdigest())
            except BaseException:
                target.unlink(missing_ok=True)
                raise
    finally:
        part.unlink(missing_ok=True)
