"""LiteLLM with its `openai/` provider pointed at Homefire, as its documentation says for an
OpenAI-compatible server, and otherwise its default settings."""

import asyncio

import litellm
import pytest

from webui.chat.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _settings(homefire) -> dict:
    return {
        "model": f"openai/{homefire.model}",
        "api_base": homefire.base_url,
        "api_key": homefire.key,
    }


def test_completion_plain_and_streamed(homefire):
    reply = litellm.completion(
        **_settings(homefire), messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    assert reply.choices[0].message.content
    assert reply.usage.completion_tokens == Message.objects.get(role="assistant").completion_tokens
    stream = litellm.completion(
        **_settings(homefire),
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert text == Message.objects.filter(role="assistant").last().content != ""


def test_text_completion(homefire):
    reply = litellm.text_completion(
        model=f"text-completion-openai/{homefire.model}",
        api_base=homefire.base_url,
        api_key=homefire.key,
        prompt="1, 2, 3,",
        max_tokens=6,
    )
    assert reply.choices[0].text
    assert Message.objects.get(role="assistant").sampling.get("raw") is True


async def test_async_completions_at_once(homefire):
    replies = await asyncio.gather(
        *(
            litellm.acompletion(
                **_settings(homefire),
                messages=[{"role": "user", "content": f"Tell story number {index}."}],
                max_tokens=8,
            )
            for index in range(8)
        )
    )
    assert all(reply.choices[0].message.content for reply in replies)


def test_responses(homefire):
    reply = litellm.responses(**_settings(homefire), input="Say hi.", max_output_tokens=8)
    assert reply.output[0].content[0].text
    assert reply.id.startswith("resp_")
