"""Background work (a conversation's title) in the real batch engine: it runs only while no
answer is written or waits, and gives way to an answer at the next step."""

import threading
import time

import pytest

from inference.engine.contract import Figures, GaveWay, Sampling
from inference.engine.jobs import BACKGROUND, BACKGROUND_CHUNK, Job
from inference.engine.llama import LlamaModel
from webui.registry.bundled import bundled_model_path

QUESTION = "What is the capital of France?"
LONG = "Tell me a very long story about a lighthouse keeper and the sea."


@pytest.fixture(scope="module")
def model():
    model = LlamaModel(bundled_model_path(), n_ctx=1024, parallel=2)
    assert model.engine.primed.wait(timeout=60)
    yield model
    model.close()


def _job(model, text: str, *, max_tokens: int, priority: int = 0, user: str = "u") -> Job:
    prompt = model.build_prompt([{"role": "user", "content": text}], max_tokens)
    return Job(
        prompt, Sampling(0.0, 1.0, max_tokens), Figures(), bool, user=user, priority=priority
    )


class Run:
    """A job streamed in a thread of its own, as a worker's task streams it."""

    def __init__(self, model, job: Job):
        self.job, self.text, self.error = job, "", None
        self.thread = threading.Thread(target=self._take, args=(model,), daemon=True)
        self.thread.start()

    def _take(self, model):
        try:
            for piece in model.engine.stream(self.job):
                self.text += piece
        except Exception as exc:
            self.error = exc

    def join(self):
        self.thread.join(timeout=120)
        assert not self.thread.is_alive()
        return self


def _wait(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_a_background_job_alone_writes_its_text(model):
    run = Run(model, _job(model, QUESTION, max_tokens=16, priority=BACKGROUND)).join()
    assert run.error is None and run.text.strip()


def test_an_answer_that_comes_ends_the_background_job_and_is_not_delayed(model):
    # The same answer on an idle engine: its text, and how many steps after it arrived its
    # first token came (its prompt is read in one step).
    before = model.engine.steps
    idle = Run(model, _job(model, QUESTION, max_tokens=24)).join()
    idle_steps = idle.job.first_step - before

    title = Run(model, _job(model, LONG, max_tokens=400, priority=BACKGROUND, user="t"))
    _wait(lambda: title.job.figures.completion_tokens >= 3)
    arrived = model.engine.steps
    answer = Run(model, _job(model, QUESTION, max_tokens=24)).join()
    title.join()

    assert isinstance(title.error, GaveWay)
    assert 3 <= title.job.figures.completion_tokens < 400
    # At most the step under way when it came stands before it: its first token comes no
    # later than one step after the idle engine's, although a slot was free for it too.
    assert answer.job.first_step - arrived <= idle_steps + 1
    assert answer.text == idle.text
    assert answer.job.figures.finish_reason in ("stop", "length")


def test_a_background_job_that_comes_while_an_answer_is_written_gives_way_at_once(model):
    answer = Run(model, _job(model, LONG, max_tokens=120))
    _wait(lambda: answer.job.figures.completion_tokens >= 2)
    title = Run(model, _job(model, QUESTION, max_tokens=16, priority=BACKGROUND)).join()
    assert isinstance(title.error, GaveWay)
    assert title.job.figures.completion_tokens == 0 and title.job.slot is None
    answer.join()
    assert answer.error is None and answer.job.figures.completion_tokens > 2


def test_a_background_job_reads_its_prompt_in_short_chunks(model):
    job = _job(model, LONG * 8, max_tokens=4, priority=BACKGROUND)
    before = model.engine.steps
    Run(model, job).join()
    unread = job.figures.prompt_tokens - job.figures.cached_tokens
    assert unread > 2 * BACKGROUND_CHUNK  # a prompt long enough to tell
    # One step per chunk of its prompt at least, then one per token.
    assert model.engine.steps - before >= -(-unread // BACKGROUND_CHUNK)
