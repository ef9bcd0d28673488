"""Hand a queued answer to the workers of its model, through Celery."""

from inference.celery_app import app

GENERATE_TASK = "inference.tasks.generate_reply"


def enqueue_generation(*, message_id: int, queue: str) -> None:
    # By name: the web process never imports the worker's code (nor llama_cpp).
    app.send_task(GENERATE_TASK, args=[message_id], queue=queue)
