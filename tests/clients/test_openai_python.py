"""The official openai Python SDK with its default settings (two retries, its timeouts)."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from webui.chat.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def client(homefire, monkeypatch):
    # As its documentation says: the two variables, and nothing else.
    monkeypatch.setenv("OPENAI_BASE_URL", homefire.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", homefire.key)
    return openai.OpenAI()


def test_chat_plain_and_streamed(client, homefire):
    reply = client.chat.completions.create(
        model=homefire.model, messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    assert reply.choices[0].message.content and reply.usage.total_tokens > 0
    stream = client.chat.completions.create(
        model=homefire.model,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == Message.objects.filter(role="assistant").last().content != ""


def test_legacy_completions(client, homefire):
    reply = client.completions.create(model=homefire.model, prompt="1, 2, 3,", max_tokens=6)
    assert reply.choices[0].text and reply.usage.completion_tokens <= 6


def test_models_list_and_retrieve(client, homefire):
    assert [m.id for m in client.models.list()] == [homefire.model]
    assert client.models.retrieve(homefire.model).id == homefire.model
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_responses_plain_streamed_and_continued(client, homefire):
    first = client.responses.create(
        model=homefire.model, instructions="Be brief.", input="Say hi.", max_output_tokens=8
    )
    assert first.output_text and first.id.startswith("resp_")
    events = list(
        client.responses.create(
            model=homefire.model,
            input="Say hi.",
            max_output_tokens=8,
            previous_response_id=first.id,
            stream=True,
        )
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert events[0].type == "response.created"
    assert events[-1].response.output_text == deltas != ""
    assert client.responses.retrieve(first.id).output_text == first.output_text


def test_eight_parallel_calls_with_default_retries_all_succeed(client, homefire, caplog):
    # Twice the per-user cap (HOMEFIRE_API_MAX_ACTIVE=4), all at once: the last four wait
    # in line for a place (up to 10 s) instead of getting 429s at once; on a machine slow
    # enough that a place takes longer, the SDK's retries (after Retry-After) wait again.
    def ask(index: int) -> str:
        reply = client.chat.completions.create(
            model=homefire.model,
            messages=[{"role": "user", "content": f"Tell story number {index}."}],
            max_tokens=8,
        )
        return reply.choices[0].finish_reason

    caplog.set_level(logging.INFO, logger="openai")
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        reasons = list(pool.map(ask, range(8)))
    elapsed = time.monotonic() - started
    assert len(reasons) == 8 and set(reasons) <= {"stop", "length"}
    assert Message.objects.filter(role="assistant", status="done").count() == 8
    retries = [r for r in caplog.records if "Retrying request" in r.getMessage()]
    print(f"8 parallel calls: {elapsed:.1f} s, {len(retries)} retries")  # noqa: T201


# Tools, structured output (.parse()), logprobs, n=2 and embeddings join here when those
# features land (issue 27).
