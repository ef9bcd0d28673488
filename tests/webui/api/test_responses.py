"""POST /v1/responses, GET and DELETE /v1/responses/{id}, against the real server and worker."""

import json

import httpx
import openai
import pytest

from tests.conftest import model_of_its_own
from tests.streams import make_user
from webui.api.models import ApiKey, ApiResponse
from webui.chat.models import Conversation, Message
from webui.chat.selectors import prompt_history

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def alice_key(asgi_server, live_worker, bundled_model):
    return ApiKey.issue(user=make_user("alice"), name="tests")[1]


@pytest.fixture
def api(asgi_server, alice_key):
    return openai.OpenAI(base_url=f"{asgi_server}/v1", api_key=alice_key, max_retries=0, timeout=60)


def test_a_plain_response_is_stored_and_read_back(api):
    reply = api.responses.create(
        model="smollm2", input="Say hello.", temperature=0, max_output_tokens=12
    )
    answer = Message.objects.get(role="assistant")
    assert reply.id == f"resp_{answer.pk}"
    assert reply.object == "response" and reply.model == "smollm2"
    assert reply.status in {"completed", "incomplete"}
    assert reply.output_text == answer.content != ""
    assert reply.output[0].type == "message" and reply.output[0].role == "assistant"
    assert reply.usage.output_tokens == answer.completion_tokens <= 12
    assert reply.usage.input_tokens == answer.prompt_tokens > 0
    assert (reply.store, reply.truncation, reply.previous_response_id) == (True, "disabled", None)
    assert Conversation.objects.get().source == "api"

    again = api.responses.retrieve(reply.id)
    assert again.model_dump() == reply.model_dump()


def test_a_response_cut_at_max_output_tokens_is_incomplete(api):
    reply = api.responses.create(
        model="smollm2", input="Tell a very long story.", temperature=0, max_output_tokens=3
    )
    assert reply.status == "incomplete"
    assert reply.incomplete_details.reason == "max_output_tokens"
    assert reply.output[0].status == "incomplete"
    assert reply.usage.output_tokens == 3


def test_streamed_events_come_in_openai_order(api):
    events = list(
        api.responses.create(
            model="smollm2",
            input="Write a haiku about the sea.",
            max_output_tokens=30,
            temperature=0,
            stream=True,
        )
    )
    kinds = [e.type for e in events]
    deltas = kinds.count("response.output_text.delta")
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        events[-1].type,
    ]
    assert deltas > 0 and events[-1].type in {"response.completed", "response.incomplete"}
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == Message.objects.get(role="assistant").content
    assert events[-1].response.output_text == text
    assert events[-4].text == text  # response.output_text.done
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    assert events[-1].response.usage.output_tokens > 0


def test_the_sdks_stream_helper_gathers_the_final_response(api):
    # A short greeting ends well within the model's 48 tokens: response.completed.
    with api.responses.stream(model="smollm2", input="Say hi.", temperature=0) as stream:
        pieces = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.output_text == "".join(pieces) != ""


def test_previous_response_id_continues_the_conversation(api):
    first = api.responses.create(
        model="smollm2",
        instructions="Answer in one word.",
        input="My name is Ada.",
        max_output_tokens=8,
    )
    second = api.responses.create(
        model="smollm2",
        previous_response_id=first.id,
        instructions="Answer in French.",
        input="What is my name?",
        max_output_tokens=8,
    )
    assert second.previous_response_id == first.id
    assert second.instructions == "Answer in French."
    assert Conversation.objects.count() == 1  # the second turn went into the first's
    answer = Message.objects.get(pk=int(second.id.removeprefix("resp_")))
    # The earlier turn's words are in the prompt; its instructions are not (as OpenAI's).
    assert [(m["role"], m["content"]) for m in prompt_history(answer)] == [
        ("user", "My name is Ada."),
        ("assistant", first.output_text),
        ("user", "What is my name?"),
        ("system", "Answer in French."),
    ]


def test_two_responses_may_continue_one(api):
    first = api.responses.create(model="smollm2", input="Count: 1, 2,", max_output_tokens=4)
    left = api.responses.create(
        model="smollm2", previous_response_id=first.id, input="Left.", max_output_tokens=4
    )
    right = api.responses.create(
        model="smollm2", previous_response_id=first.id, input="Right.", max_output_tokens=4
    )
    for branch, word in [(left, "Left."), (right, "Right.")]:
        answer = Message.objects.get(pk=int(branch.id.removeprefix("resp_")))
        history = [m["content"] for m in prompt_history(answer)]
        assert history == ["Count: 1, 2,", first.output_text, word]


def test_another_users_response_does_not_exist_for_them(api, asgi_server):
    reply = api.responses.create(model="smollm2", input="Secret.", max_output_tokens=4)
    _, bobs = ApiKey.issue(user=make_user("bob"), name="bob")
    bob = openai.OpenAI(base_url=f"{asgi_server}/v1", api_key=bobs, max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        bob.responses.retrieve(reply.id)
    assert caught.value.body["code"] == "response_not_found"
    with pytest.raises(openai.NotFoundError) as caught:
        bob.responses.create(model="smollm2", input="And?", previous_response_id=reply.id)
    assert (caught.value.body["code"], caught.value.body["param"]) == (
        "previous_response_not_found",
        "previous_response_id",
    )
    with pytest.raises(openai.NotFoundError):
        bob.responses.delete(reply.id)
    assert Message.objects.filter(conversation__owner__username="bob").count() == 0
    assert api.responses.retrieve(reply.id).id == reply.id


def test_store_false_cannot_be_read_back_or_continued(api):
    reply = api.responses.create(
        model="smollm2", input="Forget me.", store=False, max_output_tokens=4
    )
    assert reply.store is False and reply.output_text
    assert not ApiResponse.objects.exists()
    with pytest.raises(openai.NotFoundError):
        api.responses.retrieve(reply.id)
    with pytest.raises(openai.NotFoundError):
        api.responses.create(model="smollm2", input="x", previous_response_id=reply.id)


def test_delete_removes_the_turn_and_what_continues_it(api):
    first = api.responses.create(model="smollm2", input="One.", max_output_tokens=4)
    second = api.responses.create(
        model="smollm2", input="Two.", previous_response_id=first.id, max_output_tokens=4
    )
    api.responses.delete(second.id)
    assert list(Message.objects.values_list("content", flat=True)) == [
        "One.",
        first.output_text,
    ]
    with pytest.raises(openai.NotFoundError):
        api.responses.retrieve(second.id)
    third = api.responses.create(
        model="smollm2", input="Three.", previous_response_id=first.id, max_output_tokens=4
    )
    api.responses.delete(first.id)
    assert not Message.objects.exists() and not Conversation.objects.exists()
    with pytest.raises(openai.NotFoundError):
        api.responses.retrieve(third.id)


@pytest.fixture
def short_context(bundled_model, start_worker):
    """The bundled weights with a 512-token context, served by a worker of their own."""
    model = model_of_its_own(bundled_model, "short context", context_size=512)
    start_worker(model.slug)
    return model.slug


def test_a_conversation_longer_than_the_context(api, short_context):
    long_input = "word " * 700
    with pytest.raises(openai.BadRequestError) as caught:
        api.responses.create(model=short_context, input=long_input, max_output_tokens=4)
    error = caught.value.body
    assert (error["code"], error["param"]) == ("context_length_exceeded", "input")
    assert "512 tokens" in error["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        api.responses.create(
            model=short_context, input=long_input, stream=True, max_output_tokens=4
        )
    assert caught.value.body["code"] == "context_length_exceeded"
    assert Message.objects.filter(role="assistant", status="failed").count() == 2


def test_truncation_auto_drops_the_oldest_turns_instead(api, short_context):
    half = "word " * 300
    first = api.responses.create(model=short_context, input=half, max_output_tokens=2)
    with pytest.raises(openai.BadRequestError):
        api.responses.create(
            model=short_context, previous_response_id=first.id, input=half, max_output_tokens=2
        )
    reply = api.responses.create(
        model=short_context,
        previous_response_id=first.id,
        input=half,
        truncation="auto",
        max_output_tokens=2,
    )
    assert reply.truncation == "auto" and reply.output_text is not None
    answer = Message.objects.get(pk=int(reply.id.removeprefix("resp_")))
    assert answer.truncated_turns >= 1  # the first turn's question, at least


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools", "unsupported_parameter"),
        ({"background": True}, "background", "unsupported_parameter"),
        ({"conversation": "conv_1"}, "conversation", "unsupported_parameter"),
        ({"reasoning": {"effort": "high"}}, "reasoning", "unsupported_parameter"),
        ({"text": {"verbosity": "high"}}, "text", "unsupported_parameter"),
        ({"text": {"format": {"type": "xml"}}}, "text", None),
        ({"tool_choice": "required"}, "tool_choice", None),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id", None),
        ({"include": ["reasoning.encrypted_content"]}, "include", "unsupported_parameter"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0]", "unsupported_parameter"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
            "input[0].content[0]",
            "unsupported_parameter",
        ),
        ({"frobnicate": 1}, "frobnicate", None),
        ({"input": []}, "input", None),
        ({"max_output_tokens": 0}, "max_output_tokens", None),
        ({"max_output_tokens": 10**6}, "max_output_tokens", None),
        ({"temperature": 9}, "temperature", None),
        ({"metadata": {"k": 1}}, "metadata", None),
    ],
)
def test_what_is_not_supported_is_refused_by_name(asgi_server, alice_key, body, param, code):
    sent = {"model": "smollm2", "input": "Hi.", **body}
    response = httpx.post(
        f"{asgi_server}/v1/responses",
        json=sent,
        headers={"Authorization": f"Bearer {alice_key}"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert not Message.objects.exists()


def test_no_op_values_and_input_items_as_agents_send_them(api):
    reply = api.responses.create(
        model="smollm2",
        input=[
            {"role": "developer", "content": "Be brief."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        ],
        max_output_tokens=4,
        reasoning={"effort": None},
        text={"format": {"type": "text"}},
        include=[],
        parallel_tool_calls=True,
        tools=[],
        tool_choice="auto",
        metadata={"run": "ci"},
        user="ci",
        store=True,
    )
    assert reply.metadata == {"run": "ci"}
    roles = list(Message.objects.values_list("role", "content"))
    assert roles[:2] == [("system", "Be brief."), ("user", "Hi")]


def test_get_with_another_method_or_stream_is_refused(asgi_server, alice_key):
    headers = {"Authorization": f"Bearer {alice_key}"}
    response = httpx.put(f"{asgi_server}/v1/responses/resp_1", headers=headers)
    assert (response.status_code, response.headers["Allow"]) == (405, "GET, DELETE")
    response = httpx.get(f"{asgi_server}/v1/responses", headers=headers)
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")
    response = httpx.get(f"{asgi_server}/v1/responses/resp_x", headers=headers)
    assert response.json()["error"]["code"] == "response_not_found"
    response = httpx.get(f"{asgi_server}/v1/responses/resp_1?stream=true", headers=headers)
    assert response.json()["error"]["param"] == "stream"
    no_key = httpx.get(f"{asgi_server}/v1/responses/resp_1")
    assert no_key.status_code == 401


def test_raw_stream_names_each_event(asgi_server, alice_key):
    with httpx.stream(
        "POST",
        f"{asgi_server}/v1/responses",
        json={"model": "smollm2", "input": "Hi", "stream": True, "max_output_tokens": 4},
        headers={"Authorization": f"Bearer {alice_key}"},
        timeout=60,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        blocks = response.read().decode().strip().split("\n\n")
    for block in blocks:
        event, data = block.split("\n")
        assert event.removeprefix("event: ") == json.loads(data.removeprefix("data: "))["type"]


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def test_a_function_call_and_its_result_sent_back(api):
    called = api.responses.create(
        model="smollm2",
        input="What is the weather in Paris?",
        tools=[WEATHER],
        tool_choice="required",
        temperature=0,
        max_output_tokens=200,
    )
    assert called.status == "completed", called.output
    (call,) = [item for item in called.output if item.type == "function_call"]
    assert call.name == "get_weather" and call.call_id.startswith("call_")
    assert isinstance(json.loads(call.arguments)["city"], str)
    # Read back as it was sent: the same call id.
    assert api.responses.retrieve(called.id).output[-1].call_id == call.call_id

    answered = api.responses.create(
        model="smollm2",
        previous_response_id=called.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21 C"}],
        tools=[WEATHER],
        max_output_tokens=40,
    )
    assert answered.output[0].type in {"message", "function_call"}
    answer = Message.objects.get(pk=int(answered.id.removeprefix("resp_")))
    history = prompt_history(answer)
    # The generic tool path (SmolLM2's template): the call as the JSON the model wrote, the
    # result as a user turn of JSON naming the call.
    assert '"get_weather"' in history[-2]["content"]
    result = json.loads(history[-1]["content"])["tool_response"]
    assert (result["tool_call_id"], result["content"]) == (call.call_id, "Sunny, 21 C")


def test_a_streamed_function_call(api):
    events = list(
        api.responses.create(
            model="smollm2",
            input="Weather in Oslo?",
            tools=[WEATHER],
            tool_choice={"type": "function", "name": "get_weather"},
            temperature=0,
            max_output_tokens=200,
            stream=True,
        )
    )
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert events[2].item.type == "function_call"
    pieces = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    (done,) = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert pieces and "".join(pieces) == done.arguments
    assert json.loads(done.arguments)["city"]
    final = events[-1].response
    assert (events[-1].type, final.output[-1].arguments) == ("response.completed", done.arguments)


def test_calls_and_results_given_in_the_input_without_storage(api):
    reply = api.responses.create(
        model="smollm2",
        store=False,
        input=[
            {"role": "user", "content": "Weather in Rome and Oslo?"},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "Rain"},
            {"type": "function_call_output", "call_id": "c2", "output": "Snow"},
        ],
        tools=[WEATHER],
        tool_choice="none",
        max_output_tokens=8,
    )
    assert reply.output_text
    stored = list(Message.objects.order_by("id").values_list("role", "api_fields"))
    assert [role for role, _ in stored] == ["user", "assistant", "tool", "tool", "assistant"]
    assert [c["id"] for c in stored[1][1]["tool_calls"]] == ["c1", "c2"]  # one turn of two


def test_structured_output_follows_the_schema(api):
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    reply = api.responses.create(
        model="smollm2",
        input="Invent a person.",
        text={"format": {"type": "json_schema", "name": "person", "schema": schema}},
        temperature=0,
        max_output_tokens=200,
    )
    person = json.loads(reply.output_text)
    assert set(person) == {"name", "age"} and isinstance(person["age"], int)
    assert reply.text.format.type == "json_schema"
