"""Send the registry's file work (downloads, checksums) to the `downloads` queue.

Every `manage.py worker` also consumes that queue (unless started with --no-downloads);
`manage.py worker --downloads-only` serves it without loading a model. The web process
sends by task name and never imports the worker's code.
"""

import logging

from webui.celery import app

log = logging.getLogger(__name__)

QUEUE = "downloads"
DOWNLOAD_TASK = "registry.download_model"
HASH_TASK = "registry.hash_model"


def enqueue_download(download_id: int) -> None:
    app.send_task(DOWNLOAD_TASK, args=[download_id], queue=QUEUE)


def enqueue_hash(model_id: int) -> None:
    """Ask for a model file's SHA-256; a broker that is down only delays it (logged)."""
    try:
        app.send_task(HASH_TASK, args=[model_id], queue=QUEUE)
    except Exception:
        log.warning("could not queue the SHA-256 of model %s", model_id, exc_info=True)
