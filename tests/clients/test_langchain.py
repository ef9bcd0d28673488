"""LangChain's ChatOpenAI and OpenAI classes (langchain-openai) with their default settings:
only the model, the base URL and the key are given."""

import langchain_openai
import pytest

from webui.chat.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _chat(homefire, **settings):
    return langchain_openai.ChatOpenAI(
        model=homefire.model, base_url=homefire.base_url, api_key=homefire.key, **settings
    )


def test_chat_invoke_and_stream(homefire):
    reply = _chat(homefire, max_tokens=8).invoke("Say hello.")
    assert reply.content and reply.usage_metadata["output_tokens"] > 0
    chunks = list(_chat(homefire, max_tokens=8).stream("Say hello."))
    text = "".join(chunk.content for chunk in chunks)
    assert text == Message.objects.filter(role="assistant").last().content != ""


def test_chat_with_a_penalty_set(homefire):
    # Sent as frequency_penalty / presence_penalty, which ChatOpenAI passes on when set.
    reply = _chat(homefire, max_tokens=8, frequency_penalty=0, presence_penalty=0).invoke("Hi")
    assert reply.content


def test_chat_batch_of_eight(homefire):
    replies = _chat(homefire, max_tokens=8).batch([f"Tell story number {i}." for i in range(8)])
    assert len(replies) == 8 and all(reply.content for reply in replies)


def test_chat_through_the_responses_api(homefire):
    reply = _chat(homefire, max_tokens=8, use_responses_api=True).invoke("Say hi.")
    assert reply.text and reply.response_metadata["id"].startswith("resp_")


def test_the_completions_class(homefire):
    # Its defaults send frequency_penalty=0, presence_penalty=0, n=1, logprobs=None and
    # max_tokens=256.
    text = langchain_openai.OpenAI(
        model=homefire.model, base_url=homefire.base_url, api_key=homefire.key
    ).invoke("1, 2, 3,")
    assert text
    assert Message.objects.get(role="assistant").sampling["max_tokens"] == 256
