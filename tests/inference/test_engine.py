"""The real SmolLM2 model through llama-cpp-python."""

import pytest

from inference.engine.contract import Figures, PromptTooLong, Sampling
from inference.engine.llama import LlamaModel
from webui.registry.bundled import bundled_model_path


@pytest.fixture(scope="module")
def model():
    return LlamaModel(bundled_model_path(), n_ctx=512)


def test_prompt_uses_the_models_chat_template(model):
    prompt = model.build_prompt([{"role": "user", "content": "Hello there"}], 64)
    text = model.llm.detokenize(prompt.tokens, special=True).decode()
    assert "<|im_start|>user\nHello there<|im_end|>" in text
    assert text.rstrip().endswith("<|im_start|>assistant")
    assert prompt.dropped_turns == 0


def test_oldest_turns_are_dropped_to_fit_the_context(model):
    history = []
    for index in range(20):
        history += [
            {"role": "user", "content": f"question {index} " + "word " * 20},
            {"role": "assistant", "content": f"answer {index} " + "word " * 20},
        ]
    history.append({"role": "user", "content": "the latest question"})
    prompt = model.build_prompt(history, 64)
    assert prompt.dropped_turns > 0
    assert len(prompt.tokens) + prompt.max_tokens <= model.n_ctx
    text = model.llm.detokenize(prompt.tokens, special=True).decode()
    assert "the latest question" in text and "question 0 " not in text


def test_a_message_larger_than_the_context_is_refused(model):
    with pytest.raises(PromptTooLong, match="context holds 512"):
        model.build_prompt([{"role": "user", "content": "word " * 1000}], 64)


def test_without_truncation_a_conversation_too_long_is_refused_with_its_size(model):
    history = []
    for index in range(20):
        history += [
            {"role": "user", "content": f"question {index} " + "word " * 20},
            {"role": "assistant", "content": f"answer {index} " + "word " * 20},
        ]
    history.append({"role": "user", "content": "the latest question"})
    with pytest.raises(PromptTooLong) as refused:
        model.build_prompt(history, 64, truncate=False)
    assert refused.value.n_ctx == 512 and refused.value.prompt_tokens > 512
    assert f"{refused.value.prompt_tokens} tokens long" in str(refused.value)
    # What fits is built the same with or without truncation.
    short = [{"role": "user", "content": "Hello there"}]
    assert model.build_prompt(short, 64, truncate=False) == model.build_prompt(short, 64)


def test_greedy_stream_is_deterministic_and_counted(model):
    prompt = model.build_prompt([{"role": "user", "content": "Write a haiku about the sea."}], 24)
    runs = []
    for _ in range(2):
        figures = Figures()
        runs.append("".join(model.stream(prompt, Sampling(0.0, 1.0, 24), figures, lambda: False)))
    assert runs[0] == runs[1] and runs[0].strip()
    assert figures.completion_tokens <= 24 and figures.prompt_tokens == len(prompt.tokens)
    assert figures.ttft_ms > 0


def test_stop_ends_at_the_next_step_once_seen(model):
    prompt = model.build_prompt([{"role": "user", "content": "Count from one to fifty."}], 200)
    figures = Figures()
    seen_at = []  # completion tokens when should_stop() first said yes

    def should_stop():
        if figures.completion_tokens >= 3:
            seen_at.append(seen_at[0] if seen_at else figures.completion_tokens)
            return True
        return False

    chunks = list(model.stream(prompt, Sampling(0.0, 1.0, 200), figures, should_stop))
    assert figures.finish_reason == "stopped"
    # Asked by the decoder before each step: once it says yes, not one more token.
    assert figures.completion_tokens == seen_at[0] == 3
    assert len(chunks) <= figures.completion_tokens


def test_stop_sequence_ends_the_answer_without_showing_it(model):
    prompt = model.build_prompt([{"role": "user", "content": "Write a haiku about the sea."}], 40)
    figures = Figures()
    full = "".join(model.stream(prompt, Sampling(0.0, 1.0, 40), figures, lambda: False))
    word = full.split()[2]
    cut = "".join(model.stream(prompt, Sampling(0.0, 1.0, 40, stop=[word]), Figures(), bool))
    assert cut == full[: full.index(word)]


def test_raw_prompt_has_no_chat_template(model):
    prompt = model.build_raw_prompt("The sea is", 16)
    text = model.llm.detokenize(prompt.tokens, special=True).decode()
    assert "<|im_start|>" not in text and text.endswith("The sea is")


def _fewest_dropped(model, history, max_tokens):
    """The fewest turns to drop for the rest to fit, by rendering every choice."""
    reserve = min(max_tokens, max(model.n_ctx // 4, 16))
    for dropped in range(len(history)):
        if len(model._tokens(history[dropped:])) + reserve <= model.n_ctx:
            return dropped
    raise AssertionError("nothing fits")


def _uneven_history(turns):
    history = []
    for index in range(turns):  # questions and answers of uneven length
        history += [
            {"role": "user", "content": f"question {index} " + "word " * (index % 7)},
            {"role": "assistant", "content": f"answer {index} " + "longer words " * (index % 11)},
        ]
    return history


def test_a_long_history_is_fitted_in_a_few_renders(model, monkeypatch):
    history = _uneven_history(150) + [{"role": "user", "content": "the latest question"}]
    fewest = _fewest_dropped(model, history, 64)
    renders = []
    assert model._turn_overhead > 0  # measured once per model, before the count
    original = model._tokens
    monkeypatch.setattr(
        model,
        "_tokens",
        lambda messages, tools=None: renders.append(1) or original(messages, tools),
    )
    prompt = model.build_prompt(history, 64)
    assert len(prompt.tokens) + prompt.max_tokens <= model.n_ctx
    assert prompt.tokens == original(history[prompt.dropped_turns :])
    # A block of old turns goes at once: at least the fewest, never the whole budget's worth.
    assert fewest <= prompt.dropped_turns < len(history) - 1
    kept = len(prompt.tokens)
    assert kept >= (model.n_ctx - 64) // 2 - 40
    assert len(renders) <= 6  # one per dropped turn would be hundreds


def test_a_growing_conversation_keeps_its_prompts_start_for_many_turns(model):
    """Past the context, the cut stays put while turns are added, so that each turn's
    prompt begins like the last one's and only the new tokens are read."""
    history, cuts, prompts = [], [], []
    for turn in _uneven_history(120):
        history.append(turn)
        if turn["role"] != "user":
            continue
        prompt = model.build_prompt(history, 64)
        assert len(prompt.tokens) + prompt.max_tokens <= model.n_ctx
        cuts.append(prompt.dropped_turns)
        prompts.append(prompt.tokens)
    past = [i for i, cut in enumerate(cuts) if cut > 0]
    assert len(past) > 60  # most of the conversation is past the context
    moves = sum(1 for a, b in zip(cuts, cuts[1:], strict=False) if a != b)
    assert cuts == sorted(cuts)
    # One turn at a time would move the cut on nearly every turn past the context.
    assert moves <= len(past) // 4
    same_start = 0
    for before, after, cut_before, cut_after in zip(
        prompts, prompts[1:], cuts, cuts[1:], strict=False
    ):
        if cut_before == cut_after and cut_after > 0:
            shared = next(
                (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
                len(before),
            )
            assert shared >= len(before) - 4  # only the opening of the answer differs
            same_start += 1
    assert same_start >= len(past) * 3 // 4
