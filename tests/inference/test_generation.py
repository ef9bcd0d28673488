"""The generation loop around a model: claiming, streaming, stopping, failing."""

import pytest

from inference.worker.generation import generate_reply
from tests.inference.fakes import CannedModel
from tests.streams import make_user
from webui.chat import streambuffer
from webui.chat.models import Conversation, Message
from webui.chat.selectors import prompt_history as history_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def answer(bundled_model):
    conversation = Conversation.objects.create(
        owner=make_user("alice"), title="t", model=bundled_model
    )
    Message.objects.create(conversation=conversation, role="user", content="first question")
    Message.objects.create(conversation=conversation, role="assistant", content="first answer")
    Message.objects.create(conversation=conversation, role="assistant", status="failed")
    Message.objects.create(conversation=conversation, role="user", content="second question")
    return Message.objects.create(
        conversation=conversation, role="assistant", status="queued", model=bundled_model
    )


def test_history_holds_earlier_turns_in_order_without_failed_answers(answer):
    assert history_for(answer) == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
    ]


def test_answer_is_stored_with_its_figures(answer):
    model = CannedModel(["Par", "is", "."])
    assert generate_reply(answer.pk, model=model, worker_name="w") == "done"
    answer.refresh_from_db()
    assert (answer.status, answer.content, answer.worker) == ("done", "Paris.", "w")
    assert answer.completion_tokens == 3 and answer.prompt_tokens == 3
    assert answer.ttft_ms is not None and answer.finished_at is not None
    assert streambuffer.read(answer.pk) == b"Paris."


def test_an_answer_is_generated_once(answer):
    generate_reply(answer.pk, model=CannedModel(["a"]), worker_name="w1")
    second = CannedModel(["b"])
    assert generate_reply(answer.pk, model=second, worker_name="w2") is None
    assert second.prompts == []


def test_stop_keeps_the_partial_answer(answer):
    streambuffer.request_stop(answer.pk)
    assert generate_reply(answer.pk, model=CannedModel(["one", "two"]), worker_name="w") == (
        "stopped"
    )
    answer.refresh_from_db()
    assert (answer.status, answer.content) == ("stopped", "one")


def test_model_failure_ends_failed_with_a_reason_and_keeps_the_text(answer):
    model = CannedModel(["partial ", "text"], fail_after=1)
    assert generate_reply(answer.pk, model=model, worker_name="w") == "failed"
    answer.refresh_from_db()
    assert answer.status == "failed"
    assert answer.content == "partial "
    assert "model failed while answering" in answer.error


def test_prompt_too_long_is_said_plainly(answer):
    assert generate_reply(answer.pk, model=CannedModel([], too_long=True), worker_name="w") == (
        "failed"
    )
    answer.refresh_from_db()
    assert "context holds 2048" in answer.error


def test_a_prompt_too_long_carries_the_apis_error_code(answer):
    generate_reply(answer.pk, model=CannedModel([], too_long=True), worker_name="w")
    answer.refresh_from_db()
    assert (answer.status, answer.error_code) == ("failed", "context_length_exceeded")


def test_the_answers_tools_and_truncation_reach_the_prompt(answer):
    tool = {"type": "function", "function": {"name": "clock", "parameters": {}}}
    # A template that knows tools gets them (webui.chat.tool_turns: the "native" path).
    answer.sampling = {
        "via": "api",
        "tools": [tool],
        "truncation": "disabled",
        "tool_format": "native",
    }
    answer.save(update_fields=["sampling"])
    model = CannedModel(["ok"])
    assert generate_reply(answer.pk, model=model, worker_name="w") == "done"
    assert model.prompt_options == [{"tools": [tool], "truncate": False}]


def test_tool_choice_none_renders_no_tools(answer):
    tool = {"type": "function", "function": {"name": "clock", "parameters": {}}}
    answer.sampling = {"tools": [tool], "tool_choice": "none"}
    answer.save(update_fields=["sampling"])
    model = CannedModel(["ok"])
    generate_reply(answer.pk, model=model, worker_name="w")
    assert model.prompt_options == [{"tools": None, "truncate": True}]


def test_chunks_are_coalesced_longer_while_more_answers_stream():
    from inference.worker.streamer import FLUSH_SECONDS, FLUSH_SECONDS_MAX, flush_interval

    intervals = [flush_interval(n) for n in range(0, 12)]
    assert intervals[0] == intervals[1] == FLUSH_SECONDS
    assert intervals == sorted(intervals) and intervals[-1] == FLUSH_SECONDS_MAX


def test_an_answer_counts_as_streaming_while_it_streams(answer):
    from inference.worker.streamer import streaming

    seen = []

    class Counting(CannedModel):
        def stream(self, *args, **kwargs):
            for chunk in super().stream(*args, **kwargs):
                seen.append(streaming.count)
                yield chunk

    before = streaming.count
    generate_reply(answer.pk, model=Counting(["a", "b"]), worker_name="w")
    assert seen == [before + 1, before + 1] and streaming.count == before


@pytest.mark.parametrize(
    ("sampling", "named"),
    [
        ({"temperature": "hot"}, "'temperature'"),
        ({"seed": "7"}, "'seed'"),
        ({"stop": [True]}, "'stop'"),
        (["not", "settings"], "'sampling'"),
    ],
)
def test_stored_settings_that_cannot_be_used_fail_the_answer_naming_them(answer, sampling, named):
    Message.objects.filter(pk=answer.pk).update(sampling=sampling)
    model = CannedModel(["never"])
    assert generate_reply(answer.pk, model=model, worker_name="w") == "failed"
    answer.refresh_from_db()
    assert answer.status == "failed" and named in answer.error
    assert answer.error.startswith("This answer's settings cannot be used:")
    assert model.prompts == []  # refused before the model saw it


def test_a_continued_answer_that_fails_keeps_its_text_and_tokens(answer):
    Message.objects.filter(pk=answer.pk).update(
        content="Once upon a time", completion_tokens=4, sampling={"seed": "7"}
    )
    assert generate_reply(answer.pk, model=CannedModel(["x"]), worker_name="w") == "failed"
    answer.refresh_from_db()
    assert (answer.content, answer.completion_tokens) == ("Once upon a time", 4)
    Message.objects.filter(pk=answer.pk).update(status="queued", sampling={})
    model = CannedModel([" there", " was"], fail_after=1)
    assert generate_reply(answer.pk, model=model, worker_name="w") == "failed"
    answer.refresh_from_db()
    assert (answer.content, answer.completion_tokens) == ("Once upon a time there", 5)


def test_whatever_fails_before_the_first_token_ends_the_answer_failed(answer):
    class Broken(CannedModel):
        def build_prompt(
            self, messages, max_tokens, *, answer_prefix="", tools=None, truncate=True
        ):
            raise KeyError("template")

    assert generate_reply(answer.pk, model=Broken([]), worker_name="w") == "failed"
    answer.refresh_from_db()
    assert answer.status == "failed" and "model failed while answering (KeyError)" in answer.error


def test_the_decoders_reason_for_failing_one_answer_is_kept(answer):
    from inference.engine.contract import AnswerFailed

    class Failing(CannedModel):
        def stream(self, *args, **kwargs):
            yield "some "
            raise AnswerFailed("This answer failed while picking its next token (X: y).")

    assert generate_reply(answer.pk, model=Failing([]), worker_name="w") == "failed"
    answer.refresh_from_db()
    assert answer.error == "This answer failed while picking its next token (X: y)."
    assert answer.content == "some "


def test_the_apis_sampling_reaches_the_engine_typed(answer):
    from inference.worker.generation import sampling_for

    answer.sampling = {
        "via": "api",
        "logit_bias": {"5": -100},
        "frequency_penalty": 0.5,
        "grammar": 'root ::= "yes"',
        "logprobs": True,
        "top_logprobs": 3,
    }
    sampling = sampling_for(answer)
    assert sampling.logit_bias == {5: -100.0} and sampling.frequency_penalty == 0.5
    assert sampling.grammar == 'root ::= "yes"'
    assert (sampling.logprobs, sampling.top_logprobs, sampling.repeat_penalty) == (True, 3, 1.0)
