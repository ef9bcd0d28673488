"""The context meter of an imported conversation: figures that cannot describe the text
stored before them give way to the estimate from that text, and a conversation imported
without a model of this server's is measured against the model that will answer it."""

import json

import pytest

from tests.streams import make_user
from tests.webui.chat import foreign_exports as samples
from webui.chat import transfer, versions
from webui.chat.context_meter import context_use
from webui.chat.models import Conversation, Message
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

TURN = "The quick brown fox jumps over the lazy dog, again and again. " * 40  # 2,480 chars


@pytest.fixture
def model(db):
    return LLMModel.objects.create(
        name="Tiny", slug="tiny", path=bundled_model_path(), is_default=True, context_size=32768
    )


def pasted_export(turns: int) -> bytes:
    """A Homefire export whose turns were pasted together: every answer keeps the small
    prompt figure of the first one (the tool that made the file copied it along)."""
    messages = []
    for i in range(turns):
        messages.append({"role": "user", "content": f"{i}: {TURN}", "status": "done"})
        messages.append(
            {
                "role": "assistant",
                "content": TURN,
                "status": "done",
                "model": "tiny",
                "prompt_tokens": 640,
                "completion_tokens": 620,
            }
        )
    document = {
        "format": transfer.FORMAT,
        "version": transfer.VERSION,
        "conversations": [{"title": "Long", "model": "tiny", "messages": messages}],
    }
    return json.dumps(document).encode()


def test_an_imported_figure_that_cannot_be_the_text_before_it_gives_way_to_the_estimate(model):
    [conversation] = transfer.conversations_import(owner=make_user("alice"), raw=pasted_export(10))
    chars = sum(len(m.content) for m in conversation.messages.all())
    use = context_use(Conversation.objects.get(pk=conversation.pk))
    # The figure said 1,260 tokens (4%); the text is about 12,400 (38%).
    assert use.estimated and use.used == chars // 4
    assert 12_000 < use.used < 13_000 and use.percent == 38


def test_an_answer_written_here_is_measured_again(model):
    [conversation] = transfer.conversations_import(owner=make_user("alice"), raw=pasted_export(10))
    question = Message.objects.create(
        conversation=conversation,
        role="user",
        content="And now?",
        parent_id=versions.path_end_id(conversation),
    )
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        parent=question,
        model=model,
        content="Short.",
        prompt_tokens=13_000,
        completion_tokens=3,
    )
    use = context_use(Conversation.objects.get(pk=conversation.pk))
    assert (use.used, use.estimated) == (13_003, False)


def test_a_figure_that_left_turns_out_is_kept(model):
    conversation = Conversation.objects.create(owner=make_user("alice"), model=model)
    Message.objects.create(conversation=conversation, role="user", content=TURN * 10)
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="Yes.",
        prompt_tokens=100,
        completion_tokens=2,
        truncated_turns=1,
    )
    use = context_use(conversation)
    assert (use.used, use.estimated, use.left_out) == (102, False, 1)


def test_a_foreign_import_without_a_model_here_is_measured_against_the_default(model):
    first, _ = transfer.conversations_import(
        owner=make_user("alice"), raw=samples.raw(samples.CHATGPT)
    )
    assert first.model is None
    use = context_use(first)
    assert use.size == 32768 and use.estimated and use.used > 0
