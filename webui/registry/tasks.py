"""Celery tasks for the registry's file work, run by workers that consume `downloads`."""

from pathlib import Path

from celery import shared_task
from django.db import close_old_connections

from webui.registry import downloading
from webui.registry.jobs import DOWNLOAD_TASK, HASH_TASK
from webui.registry.models import LLMModel


@shared_task(name=DOWNLOAD_TASK)
def download_model(download_id: int) -> str | None:
    try:
        download = downloading.run(download_id)
        return download.state if download else None
    finally:
        close_old_connections()


@shared_task(name=HASH_TASK)
def hash_model(model_id: int) -> str | None:
    """Record the SHA-256 of a model's file, unless its path changed meanwhile."""
    try:
        return record_sha256(model_id)
    finally:
        close_old_connections()


def record_sha256(model_id: int) -> str | None:
    model = LLMModel.objects.filter(pk=model_id).only("path").first()
    if model is None or not Path(model.path).is_file():
        return None
    digest = downloading.file_sha256(Path(model.path))
    LLMModel.objects.filter(pk=model_id, path=model.path).update(sha256=digest)
    return digest
