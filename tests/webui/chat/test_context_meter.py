"""The context meter: the last prompt's tokens against the model's context."""

import pytest
from django.test import Client

from tests.streams import make_user
from webui.chat.context_meter import context_use
from webui.chat.models import Conversation, Message
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel


@pytest.fixture
def conversation(db):
    model = LLMModel.objects.create(
        name="Tiny", slug="tiny", path=bundled_model_path(), is_default=True, context_size=1000
    )
    return Conversation.objects.create(owner=make_user("alice"), model=model)


def test_before_any_answer_it_estimates_from_the_text(conversation):
    Message.objects.create(conversation=conversation, role="user", content="x" * 400)
    use = context_use(conversation)
    assert (use.used, use.size, use.estimated, use.left_out) == (100, 1000, True, 0)


def test_after_an_answer_it_counts_the_measured_prompt(conversation):
    Message.objects.create(conversation=conversation, role="user", content="x" * 400)
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="y",
        prompt_tokens=300,
        completion_tokens=200,
        status="done",
    )
    Message.objects.create(conversation=conversation, role="user", content="z" * 40)
    use = context_use(conversation)
    assert (use.used, use.estimated, use.percent) == (510, False, 51)


def test_the_page_shows_the_meter_and_says_when_turns_are_left_out(conversation):
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="y",
        prompt_tokens=900,
        completion_tokens=60,
        truncated_turns=4,
        status="done",
    )
    client = Client()
    client.force_login(conversation.owner)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert 'data-context-used="960" data-context-size="1000"' in page
    assert "Older turns are being left out: the 4 oldest messages no longer fit" in page
    assert '<meter id="context-meter-bar" min="0" max="1000" value="960"' in page


def test_the_size_is_the_smaller_of_the_setting_and_the_trained_context(conversation):
    conversation.model.context_length = 512
    assert context_use(conversation).size == 512
