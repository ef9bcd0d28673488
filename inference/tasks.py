"""Celery tasks run by a worker that holds a model."""

from django.db import close_old_connections

from inference import generation, resident
from inference.celery_app import app


@app.task(name="inference.tasks.generate_reply")
def generate_reply(message_id: int) -> str | None:
    worker = resident.current()
    try:
        with worker.serving(message_id):
            return generation.generate_reply(
                message_id, model=worker.model, worker_name=worker.name
            )
    finally:
        close_old_connections()
