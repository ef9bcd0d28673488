"""The title task: the resident model names a conversation after its first answer.

It runs as background work in the batch engine (priority BACKGROUND): only while no answer
is being written or waits, giving way the moment one comes (GaveWay). A title that gave
way is tried again a little later, a few times, then left as it is: the conversation
keeps the title of its first message. See webui.chat.titles for when it is asked for and
how a rename wins.
"""

import logging

from django.db import close_old_connections

from inference.engine.contract import Figures, GaveWay, Sampling
from inference.engine.jobs import BACKGROUND
from inference.worker import resident
from webui.celery import app
from webui.chat import titles

log = logging.getLogger(__name__)

TITLE_TOKENS = 24
# A title that gave way to answers is tried again after this many seconds, this many times.
RETRY_SECONDS = 20
RETRIES = 6


# The name is the one the web side sends (webui.chat.titles.TITLE_TASK).
@app.task(name="inference.tasks.write_title", bind=True, max_retries=RETRIES)
def write_title(self, conversation_id: int, expected: str) -> bool:
    """Name the conversation if its title is still `expected`; say whether it did."""
    try:
        text = _title_text(conversation_id, expected)
        return text is not None and titles.title_write(
            conversation_id=conversation_id, expected=expected, text=text
        )
    except GaveWay:
        if self.request.retries >= RETRIES:
            log.info("conversation %s: no quiet moment for its title", conversation_id)
            return False
        raise self.retry(countdown=RETRY_SECONDS) from None
    finally:
        close_old_connections()


def _title_text(conversation_id: int, expected: str) -> str | None:
    """The model's title for the conversation; None when there is nothing to name (renamed,
    gone) or this worker cannot (another model, draining, failed)."""
    worker = resident.current()
    source = titles.title_source(conversation_id, expected)
    if source is None:
        return None
    question, answer, slug = source
    model = worker.model
    if model is None or not worker.takes_answers() or slug != worker.model_slug:
        return None
    try:
        prompt = model.build_prompt(titles.prompt_messages(question, answer), TITLE_TOKENS)
        # The title is the reply's first line (titles.cleaned): a stop at the first line
        # break would leave nothing of a reply that begins with one.
        sampling = Sampling(temperature=0.0, top_p=1.0, max_tokens=TITLE_TOKENS)
        return "".join(
            model.stream(prompt, sampling, Figures(), lambda: False, priority=BACKGROUND)
        )
    except GaveWay:
        raise
    except Exception:
        # A title is a nicety: whatever goes wrong leaves the first message's title.
        log.exception("conversation %s: its title could not be written", conversation_id)
        return None
