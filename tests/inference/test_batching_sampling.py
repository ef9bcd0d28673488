"""Per-answer samplers and logprobs in the batch engine, with the real model: logit biases,
penalties and grammars, decoded beside free answers that never notice them."""

import threading
import time

import pytest

from inference.engine.contract import AnswerFailed, Figures, Sampling
from inference.engine.jobs import Job
from inference.engine.llama import LlamaModel
from webui.registry.bundled import bundled_model_path

YES_OR_NO = "Is the sky blue? Answer yes or no."
POEM = "Write a poem about the sea."
FREE = "What is the capital of France?"


@pytest.fixture(scope="module")
def model():
    model = LlamaModel(bundled_model_path(), n_ctx=512, parallel=4)
    yield model
    model.close()


def _job(model, question, arrival=(0, 0), **sampling):
    sampling = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 32, **sampling}
    prompt = model.build_prompt([{"role": "user", "content": question}], sampling["max_tokens"])
    return Job(prompt, Sampling(**sampling), Figures(), bool, arrival=arrival)


def _answer(model, question, **sampling):
    job = _job(model, question, **sampling)
    return "".join(model.engine.stream(job)), job


def _together(model, jobs):
    """Stream the jobs from threads of their own; their texts (or errors), in order."""
    results = {}

    def run(index, job):
        try:
            results[index] = "".join(model.engine.stream(job))
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [results[i] for i in range(len(jobs))]


def _first_token(model, text: str) -> int:
    return model.llm.tokenize(text.encode(), add_bos=False, special=False)[0]


def test_a_logit_bias_of_minus_100_bans_a_token(model):
    free, _ = _answer(model, YES_OR_NO)
    banned = _first_token(model, free)
    text, _ = _answer(model, YES_OR_NO, logit_bias={banned: -100})
    assert text.strip() and text != free
    assert _first_token(model, text) != banned


def test_a_logit_bias_of_100_forces_a_token(model):
    forced = _first_token(model, " banana")
    text, job = _answer(model, YES_OR_NO, max_tokens=4, logit_bias={forced: 100})
    assert text == " banana" * 4 and job.figures.finish_reason == "length"


def test_a_logit_bias_on_a_token_the_model_lacks_fails_that_answer_saying_so(model):
    with pytest.raises(AnswerFailed, match="logit_bias names token 49152"):
        _answer(model, YES_OR_NO, logit_bias={model.engine.n_vocab: 5})


@pytest.mark.parametrize("penalty", ["frequency_penalty", "presence_penalty", "repeat_penalty"])
def test_penalties_change_the_greedy_answer(model, penalty):
    free, _ = _answer(model, POEM, max_tokens=48)
    penalized, job = _answer(model, POEM, max_tokens=48, **{penalty: 1.5})
    assert penalized.strip() and penalized != free
    # The same settings give the same answer: the penalties count this answer's tokens only.
    assert _answer(model, POEM, max_tokens=48, **{penalty: 1.5})[0] == penalized


def test_a_grammar_constrains_its_answer_while_a_free_one_decodes_beside_it(model):
    alone, _ = _answer(model, FREE)
    # Queued as one group: read in the same step, then decoded in the same batches.
    constrained = _job(model, YES_OR_NO, (0, 1), grammar='root ::= "yes" | "no"')
    free = _job(model, FREE, (1, 0))
    texts = _together(model, [constrained, free])
    assert texts[0] in ("yes", "no") and constrained.figures.finish_reason == "stop"
    assert constrained.first_step == free.first_step
    assert texts[1] == alone


# At temperature 0 and above: the grammar checks the token the chain picks, and when it
# refuses it, constrains the whole vocabulary and lets the chain pick again.
@pytest.mark.parametrize("temperature", [0.0, 1.5])
def test_a_grammar_keeps_a_longer_answer_to_its_shape(model, temperature):
    grammar = 'root ::= "[" item ", " item ", " item "]"\nitem ::= [1-9] [0-9]?'
    text, job = _answer(
        model,
        "List three prime numbers.",
        max_tokens=24,
        grammar=grammar,
        temperature=temperature,
        seed=3,
    )
    assert text.startswith("[") and text.endswith("]") and job.figures.finish_reason == "stop"
    assert [part.isdigit() for part in text[1:-1].split(", ")] == [True] * 3


def test_a_grammar_that_does_not_parse_fails_its_answer_alone(model):
    alone = [_answer(model, q, max_tokens=48)[0] for q in (POEM, FREE)]
    good = [_job(model, q, max_tokens=48) for q in (POEM, FREE)]
    results = {}
    threads = [
        threading.Thread(
            target=lambda j=job: results.update({id(j): "".join(model.engine.stream(j))})
        )
        for job in good
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while not all(job.figures.completion_tokens for job in good) and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(AnswerFailed, match="grammar does not parse"):
        _answer(model, YES_OR_NO, grammar="root ::= yes-or-no")  # no such rule
    for thread in threads:
        thread.join(timeout=120)
    assert [results[id(job)] for job in good] == alone


def test_logprobs_come_one_per_token_with_the_alternatives_asked(model):
    text, job = _answer(model, POEM, max_tokens=24, logprobs=True, top_logprobs=5)
    entries = job.figures.logprobs
    assert len(entries) == job.figures.completion_tokens == 24
    assert b"".join(bytes(entry["bytes"]) for entry in entries).decode() == text
    for entry in entries:
        alternatives = entry["top_logprobs"]
        assert len(alternatives) == 5
        assert all(alt["logprob"] <= 0 for alt in alternatives) and entry["logprob"] <= 0
        assert [alt["logprob"] for alt in alternatives] == sorted(
            (alt["logprob"] for alt in alternatives), reverse=True
        )
        # Greedy: the chosen token is the likeliest, and it is the first alternative.
        assert alternatives[0]["token"] == entry["token"]
        assert alternatives[0]["logprob"] == entry["logprob"]
        assert entry["token"] == bytes(entry["bytes"]).decode(errors="replace")
    assert entries[0]["logprob"] > -20  # a real probability, not a masked one


def test_logprobs_without_alternatives_and_only_for_the_answers_that_ask(model):
    asking = _job(model, POEM, (0, 1), max_tokens=16, logprobs=True)
    other = _job(model, FREE, (1, 0), max_tokens=16)
    _together(model, [asking, other])
    assert len(asking.figures.logprobs) == asking.figures.completion_tokens
    assert all(entry["top_logprobs"] == [] for entry in asking.figures.logprobs)
    assert other.figures.logprobs == []


def test_logprobs_of_a_constrained_answer_are_the_models_own(model):
    text, job = _answer(model, YES_OR_NO, logprobs=True, top_logprobs=3, grammar='root ::= "maybe"')
    assert text == "maybe"
    # The model would not have chosen these tokens: their logprobs say so.
    for entry in job.figures.logprobs:
        assert entry["logprob"] <= entry["top_logprobs"][0]["logprob"]
    assert any(
        entry["logprob"] < entry["top_logprobs"][0]["logprob"] for entry in job.figures.logprobs
    )
