"""Hand a queued answer to the workers of its model, through Celery."""

from inference.celery_app import app
from webui.chat import streambuffer

GENERATE_TASK = "inference.tasks.generate_reply"


def enqueue_generation(*, message_id: int, queue: str) -> None:
    # A new answer starts clean: a restored or flushed database can hand out an id
    # whose old stream buffer or stop flag is still in Redis.
    streambuffer.forget(message_id)
    # By name: the web process never imports the worker's code (nor llama_cpp).
    app.send_task(GENERATE_TASK, args=[message_id], queue=queue)
