"""Answers of one family (the n choices of one request) read their shared prompt once, with
the real model: the others copy its cache, and write what they would have written alone."""

import threading

import pytest

from inference.engine.contract import Figures, Sampling
from inference.engine.jobs import Job
from inference.engine.llama import LlamaModel
from webui.registry.bundled import bundled_model_path

STORY = "Tell me a short story about a brave knight and a dragon who became friends."
OTHERS = ["Say hello.", "Name a colour.", "Count to three.", "Name a fruit."]


@pytest.fixture(scope="module")
def model():
    model = LlamaModel(bundled_model_path(), n_ctx=512, parallel=4)
    assert model.engine.primed.wait(timeout=60)
    yield model
    model.close()


def _job(model, question, arrival=(0, 0), *, family="", user="", max_tokens=40, **sampling):
    sampling = {"temperature": 0.0, "top_p": 1.0, **sampling}
    prompt = model.build_prompt([{"role": "user", "content": question}], max_tokens)
    return Job(
        prompt,
        Sampling(max_tokens=max_tokens, **sampling),
        Figures(),
        bool,
        user=user,
        arrival=arrival,
        family=family,
    )


def _run(model, jobs) -> list[str]:
    texts = {}
    threads = [
        threading.Thread(
            target=lambda j=job: texts.update({id(j): "".join(model.engine.stream(j))})
        )
        for job in jobs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [texts[id(job)] for job in jobs]


def _fill_every_slot(model):
    """Leave other conversations in every slot's cache, so that nothing holds the story."""
    _run(model, [_job(model, q, (i, 3 - i), max_tokens=2) for i, q in enumerate(OTHERS)])


def test_a_family_reads_its_prompt_once_and_each_writes_what_it_would_alone(model):
    alone = _run(model, [_job(model, STORY)])[0]
    _fill_every_slot(model)
    # Queued together with an answer of another user: that one is read at once, beside the
    # family's first, while the family's others wait for its prompt and then copy it.
    family = [_job(model, STORY, (i, 3 - i), family="42:7", user="alice") for i in range(3)]
    unrelated = _job(model, OTHERS[0], (3, 0), user="bob")
    texts = _run(model, family + [unrelated])
    assert texts[:3] == [alone] * 3 and alone.strip()
    prompt = len(family[0].prompt.tokens)
    first, *others = family
    assert first.figures.cached_tokens == len(model.opening())  # it read the story itself
    assert [job.figures.cached_tokens for job in others] == [prompt - 1] * 2
    assert unrelated.first_step == first.first_step
    assert [job.first_step for job in others] == [first.first_step + 1] * 2


def test_an_answer_that_comes_while_its_family_writes_copies_the_prompt_and_not_the_rest(model):
    import time

    _fill_every_slot(model)
    first = _job(model, STORY, family="43:1")
    texts = {}
    thread = threading.Thread(
        target=lambda: texts.update(first="".join(model.engine.stream(first)))
    )
    thread.start()
    deadline = time.monotonic() + 60
    while first.figures.completion_tokens < 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    later = _job(model, STORY, family="43:1")
    later_text = _run(model, [later])[0]
    thread.join(timeout=60)
    assert later_text == texts["first"]
    assert later.figures.cached_tokens == len(later.prompt.tokens) - 1
    assert later.slot is not first.slot and later.first_step > first.first_step + 10


def test_answers_of_different_families_share_nothing(model):
    _fill_every_slot(model)
    one = _job(model, STORY, (0, 1), family="44:1")
    other = _job(model, STORY, (1, 0), family="45:1")
    texts = _run(model, [one, other])
    assert texts[0] == texts[1]
    # Each read the story itself, in the same step.
    assert one.first_step == other.first_step
    opening = len(model.opening())
    assert [one.figures.cached_tokens, other.figures.cached_tokens] == [opening] * 2


def test_a_family_sampling_at_a_temperature_gets_different_answers(model):
    family = [
        _job(model, STORY, (i, 2 - i), family="46:1", temperature=1.0, seed=i) for i in range(3)
    ]
    texts = _run(model, family)
    assert len(set(texts)) == 3 and all(texts)
    assert [job.figures.cached_tokens for job in family[1:]] == [
        len(family[0].prompt.tokens) - 1
    ] * 2
