"""Hand a queued answer to the workers of its model, through Celery."""

from datetime import datetime, timedelta

from django.utils import timezone

from webui.celery import app
from webui.chat import streambuffer
from webui.chat.arrival_order import arrival

GENERATE_TASK = "inference.tasks.generate_reply"
# A generation task not taken by a worker within this time after its answer was sent is
# dropped by the worker that finally receives it (the answer is failed by the reaper).
# Counted from when the answer joined the queue (Message.queued_at), so a task sent again
# never lives longer.
QUEUE_LIFETIME = timedelta(hours=24)


def expiry_of(queued_at: datetime | None) -> datetime:
    return (queued_at or timezone.now()) + QUEUE_LIFETIME


def enqueue_generation(
    *, message_id: int, queue: str, queued_at: datetime | None = None, again: bool = False
) -> None:
    if not again:
        # A new answer starts clean: a restored or flushed database can hand out an id
        # whose old stream buffer or stop flag is still in Redis.
        streambuffer.forget(message_id)
    # By name: the web process never imports the worker's code (nor llama_cpp).
    # With its place among the questions that arrived together, how many follow it and
    # their group's id (webui.chat.arrival_order): the worker reads all their prompts in
    # one step.
    app.send_task(
        GENERATE_TASK,
        args=[message_id],
        kwargs={"arrival": [0, 0, ""] if again else list(arrival())},
        queue=queue,
        expires=expiry_of(queued_at),
    )
