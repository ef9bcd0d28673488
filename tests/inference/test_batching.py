"""Several conversations decoded together by the real model, in one llama.cpp context."""

import threading

import pytest

from inference.engine.contract import Figures, Sampling
from inference.engine.llama import LlamaModel
from webui.registry.bundled import bundled_model_path

QUESTIONS = [
    "Write a haiku about the sea.",
    "What is the capital of France?",
    "List three colours.",
    "Say hello in Spanish.",
]


@pytest.fixture(scope="module")
def model():
    model = LlamaModel(bundled_model_path(), n_ctx=512, parallel=4)
    yield model
    model.close()


def _answer(model, question, max_tokens=32, stop_after=None, results=None, key=None):
    prompt = model.build_prompt([{"role": "user", "content": question}], max_tokens)
    figures = Figures()
    should_stop = (lambda: figures.completion_tokens >= stop_after) if stop_after else bool
    text = "".join(model.stream(prompt, Sampling(0.0, 1.0, max_tokens), figures, should_stop))
    if results is not None:
        results[key] = (text, figures)
    return text, figures


def _together(model, jobs):
    results = {}
    threads = [
        threading.Thread(
            target=_answer, args=(model, q), kwargs={**kw, "results": results, "key": i}
        )
        for i, (q, kw) in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [results[i] for i in range(len(jobs))]


def test_decoded_together_each_answer_is_what_it_is_alone(model):
    alone = [_answer(model, q)[0] for q in QUESTIONS]
    together = _together(model, [(q, {}) for q in QUESTIONS])
    assert [text for text, _ in together] == alone
    assert all(text.strip() for text in alone)


def test_stopping_one_leaves_the_others_unchanged(model):
    alone = [_answer(model, q)[0] for q in QUESTIONS[:3]]
    together = _together(
        model, [(QUESTIONS[0], {"stop_after": 2}), (QUESTIONS[1], {}), (QUESTIONS[2], {})]
    )
    stopped_text, stopped = together[0]
    # Asked before each step: the stop is seen before a third token is decoded.
    assert stopped.finish_reason == "stopped" and stopped.completion_tokens == 2
    assert alone[0].startswith(stopped_text) and len(stopped_text) < len(alone[0])
    assert [text for text, _ in together[1:]] == alone[1:]


def test_follow_up_turn_reuses_the_cached_prefix(model):
    history = [{"role": "user", "content": "Tell me about the moon."}]
    first = model.build_prompt(history, 24)
    figures = Figures()
    answer = "".join(model.stream(first, Sampling(0.0, 1.0, 24), figures, bool))
    history += [{"role": "assistant", "content": answer}, {"role": "user", "content": "More?"}]
    follow_up = model.build_prompt(history, 24)
    again = Figures()
    "".join(model.stream(follow_up, Sampling(0.0, 1.0, 8), again, bool))
    assert again.cached_tokens >= len(first.tokens) - 1
    assert again.cached_tokens < len(follow_up.tokens)


def test_reaching_the_context_limit_ends_cleanly_as_length(model):
    counting = ", ".join(str(n) for n in range(1, 110)) + ","
    prompt = model.build_raw_prompt(counting, 2000)
    assert prompt.max_tokens < 2000  # the context, not the request, is the limit here
    figures = Figures()
    text = "".join(model.stream(prompt, Sampling(0.0, 1.0, 2000), figures, bool))
    assert figures.finish_reason == "length" and text.strip()
    assert figures.prompt_tokens + figures.completion_tokens <= model.n_ctx


def test_waiting_answers_are_admitted_round_robin_by_user_and_chat_first():
    from inference.engine.jobs import Job, next_fair

    def job(user, priority=0):
        return Job(None, Sampling(), Figures(), bool, user=user, priority=priority)

    waiting = [job("api-user", 1), job("alice"), job("alice"), job("alice"), job("bob")]
    last_turn, order = {}, []
    while waiting:
        chosen = next_fair(waiting, last_turn)
        waiting.remove(chosen)
        last_turn[chosen.user] = len(order)
        order.append(chosen.user)
    assert order == ["alice", "bob", "alice", "alice", "api-user"]


def test_a_new_prompt_takes_the_lowest_free_slot_unless_another_holds_its_history():
    from inference.engine.jobs import Slot
    from inference.engine.slot_caches import REUSE_MIN_TOKENS, slot_for

    header = list(range(10))  # what every prompt shares: the template's opening
    history = list(range(100, 100 + REUSE_MIN_TOKENS + 20))
    free = [Slot(1, tokens=header + [7, 8]), Slot(3, tokens=header + history)]
    # Sharing only the opening is not worth splitting the busy slots (1 is the lowest).
    assert slot_for(header + [9], free) == (free[0], len(header))
    # A follow-up turn goes back to the slot that holds its conversation.
    follow_up = header + history + [5, 6]
    assert slot_for(follow_up, free) == (free[1], len(header + history))


def test_every_slot_starts_with_the_opening_all_prompts_share():
    model = LlamaModel(bundled_model_path(), n_ctx=512, parallel=3)
    try:
        opening = model.opening()
        assert len(opening) > 5  # SmolLM2's template opens with a default system prompt
        assert model.engine.primed.wait(timeout=60)
        assert all(slot.tokens == opening for slot in model.engine.slots)
        # Three conversations at once at a fresh worker: none reads the opening again,
        # and each answers as it would alone.
        alone = _answer(model, QUESTIONS[0])[0]
        together = _together(model, [(q, {}) for q in QUESTIONS[:3]])
        assert all(figures.cached_tokens >= len(opening) for _, figures in together)
        assert together[0][0] == alone
    finally:
        model.close()


def test_text_gathered_between_wakes_is_the_same_text_in_fewer_pieces(model):
    prompt = model.build_prompt([{"role": "user", "content": QUESTIONS[0]}], 48)
    per_token = list(model.stream(prompt, Sampling(0.0, 1.0, 48), Figures(), bool))
    figures = Figures()
    gathered = list(model.stream(prompt, Sampling(0.0, 1.0, 48), figures, bool, every=lambda: 0.2))
    assert "".join(gathered) == "".join(per_token)
    assert figures.completion_tokens > 8 and len(gathered) < len(per_token)


def test_an_answer_stopped_while_it_waits_for_a_slot_ends_before_one_frees(model):
    import time

    ended = {}

    def answer(key, should_stop):
        prompt = model.build_prompt([{"role": "user", "content": QUESTIONS[hash(key) % 4]}], 64)
        figures = Figures()
        "".join(model.stream(prompt, Sampling(0.0, 1.0, 64), figures, should_stop))
        ended[key] = (time.monotonic(), figures)

    busy = [threading.Thread(target=answer, args=(key, bool)) for key in range(4)]
    for thread in busy:  # every slot taken
        thread.start()
    time.sleep(0.2)
    answer("in line", lambda: True)
    for thread in busy:
        thread.join(timeout=120)
    at, figures = ended["in line"]
    assert figures.finish_reason == "stopped" and figures.completion_tokens == 0
    assert at < min(ended[key][0] for key in range(4))


def _job(model, question: str, arrival: tuple[int, int]):
    from inference.engine.jobs import Job

    prompt = model.build_prompt([{"role": "user", "content": question}], 24)
    return Job(prompt, Sampling(0.0, 1.0, 24), Figures(), bool, arrival=arrival)


def _run(model, job, texts: dict) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: texts.update({id(job): "".join(model.engine.stream(job))}), daemon=True
    )
    thread.start()
    return thread


# Stored by the web process one after another: 25 ms apart as on a quick machine, 100 ms
# apart as on a slow one (the last comes after GATHER_SECONDS from the first).
@pytest.mark.parametrize("apart", [0.025, 0.1])
def test_answers_queued_together_have_their_prompts_read_in_one_step(model, apart):
    import time

    alone = [_answer(model, q, max_tokens=24)[0] for q in QUESTIONS[:3]]
    group = [_job(model, q, (place, 2 - place)) for place, q in enumerate(QUESTIONS[:3])]
    texts: dict = {}
    threads = []
    for job in group:
        threads.append(_run(model, job, texts))
        time.sleep(apart)
    for thread in threads:
        thread.join(timeout=120)
    assert len({job.first_step for job in group}) == 1  # the first waited for the others
    assert [texts[id(job)] for job in group] == alone


def test_answers_that_reach_the_worker_out_of_order_are_still_read_together(model):
    import time

    group = [_job(model, q, (place, 2 - place)) for place, q in enumerate(QUESTIONS[:3])]
    texts: dict = {}
    threads = [_run(model, group[1], texts)]  # claimed first: it starts at once
    time.sleep(0.2)
    threads += [_run(model, group[0], texts), _run(model, group[2], texts)]
    for thread in threads:
        thread.join(timeout=120)
    assert group[0].first_step == group[2].first_step
    assert all(texts[id(job)] for job in group)


def test_answers_waiting_for_a_slot_start_when_every_slot_ends_in_the_same_step(model):
    # Twice as many as the slots, read together, all as long: the first ones end together.
    slots = len(model.engine.slots)
    group = [
        _job(model, QUESTIONS[1], (place, 2 * slots - 1 - place)) for place in range(2 * slots)
    ]
    texts: dict = {}
    threads = [_run(model, job, texts) for job in group]
    for thread in threads:
        thread.join(timeout=60)
    assert len({job.first_step for job in group[:slots]}) == 1
    assert [texts.get(id(job)) for job in group] == [texts[id(group[0])]] * len(group)


def test_a_group_whose_others_never_come_starts_after_the_wait(model):
    from inference.engine.arriving_group import GATHER_SECONDS

    job = _job(model, QUESTIONS[0], (0, 3))  # the other three were refused, say
    thread = _run(model, job, texts := {})
    thread.join(timeout=120)
    assert texts[id(job)] == _answer(model, QUESTIONS[0], max_tokens=24)[0]
    assert job.figures.ttft_ms >= GATHER_SECONDS * 1000


def test_answers_still_being_written_when_the_model_is_unloaded_end_with_an_error():
    import time

    from inference.engine.batching import UNLOADED

    model = LlamaModel(bundled_model_path(), n_ctx=512, parallel=1)
    prompt = model.build_raw_prompt("1, 2, 3, 4, 5, 6,", 400)  # counts on for seconds
    outcome = []

    def answer():
        try:
            "".join(model.stream(prompt, Sampling(0.0, 1.0, 400), Figures(), bool))
            outcome.append("ended")
        except RuntimeError as exc:
            outcome.append(str(exc))

    threads = [threading.Thread(target=answer) for _ in range(2)]  # one decoding, one in line
    for thread in threads:
        thread.start()
    model.engine.primed.wait(timeout=60)
    time.sleep(0.3)  # both asked: 400 tokens take seconds here
    model.close()
    for thread in threads:
        thread.join(timeout=30)
    assert outcome == [UNLOADED, UNLOADED]
    with pytest.raises(RuntimeError, match="unloaded"):
        next(model.stream(prompt, Sampling(0.0, 1.0, 8), Figures(), bool))


class _BrokenDecoder:
    """Detokenizing that fails: as a broken vocabulary entry would."""

    def decode(self, data: bytes, final: bool = False) -> str:
        raise UnicodeError("no text for these bytes")


def _stops_asking():
    raise RuntimeError("the stop flag could not be read")


# Each fails at a different step of one answer: building its sampler, stop scanning, its
# length check, detokenizing, asking whether to stop.
BROKEN = {
    "sampler": {"sampling": Sampling(0.7, 0.9, 64, seed="7")},
    "stop scanning": {"sampling": Sampling(0.0, 1.0, 64, stop=[5])},
    "length": {"sampling": Sampling(0.0, 1.0, "64")},
    "detokenizing": {"decoder": _BrokenDecoder()},
    "stop flag": {"should_stop": _stops_asking},
}


@pytest.mark.parametrize("broken", BROKEN)
def test_an_answer_that_cannot_go_on_fails_alone_and_the_others_never_notice(model, broken):
    import time

    from inference.engine.contract import AnswerFailed
    from inference.engine.jobs import Job

    alone = [_answer(model, q, max_tokens=64)[0] for q in QUESTIONS[:2]]
    good = [
        Job(
            model.build_prompt([{"role": "user", "content": q}], 64),
            Sampling(0.0, 1.0, 64),
            Figures(),
            bool,
        )
        for q in QUESTIONS[:2]
    ]
    texts: dict = {}
    threads = [_run(model, job, texts) for job in good]
    deadline = time.monotonic() + 60
    while not all(job.figures.completion_tokens for job in good) and time.monotonic() < deadline:
        time.sleep(0.01)
    fields = {"sampling": Sampling(0.0, 1.0, 64), "should_stop": bool, **BROKEN[broken]}
    bad = Job(
        model.build_prompt([{"role": "user", "content": QUESTIONS[2]}], 64),
        fields.pop("sampling"),
        Figures(),
        fields.pop("should_stop"),
    )
    for name, value in fields.items():
        setattr(bad, name, value)
    with pytest.raises(AnswerFailed) as failed:
        "".join(model.engine.stream(bad))
    for thread in threads:
        thread.join(timeout=120)
    assert [texts.get(id(job)) for job in good] == alone
    assert "This answer failed while" in str(failed.value)
    # The engine goes on serving: a new answer is what it is alone.
    assert _answer(model, QUESTIONS[0], max_tokens=64)[0] == alone[0]
