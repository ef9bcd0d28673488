"""Simon Willison's `llm` CLI, configured as its documentation says for an OpenAI-compatible
server: an extra-openai-models.yaml and a stored key, in a user directory of its own."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

LLM = Path(sys.executable).with_name("llm")


@pytest.fixture
def llm(homefire, tmp_path):
    (tmp_path / "extra-openai-models.yaml").write_text(
        "\n".join(
            f"- model_id: homefire{kind}\n"
            f"  model_name: {homefire.model}\n"
            f"  api_base: {homefire.base_url}\n"
            f"  api_key_name: homefire\n" + extra
            for kind, extra in [
                # As its documentation says, a model that can take --schema is marked so.
                ("", "  supports_schema: true\n"),
                ("-completion", "  completion: true\n"),
                ("-responses", "  responses: true\n"),
            ]
        )
    )
    env = dict(os.environ, LLM_USER_PATH=str(tmp_path))

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(LLM), *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run("keys", "set", "homefire", "--value", homefire.key)
    return run


def test_a_prompt_streamed_and_not(llm):
    assert llm("-m", "homefire", "Say hello.", "-o", "max_tokens", "8").strip()
    assert llm("-m", "homefire", "Say hello.", "-o", "max_tokens", "8", "--no-stream").strip()
    assert Message.objects.filter(role="assistant", status="done").count() == 2


def test_a_conversation_continued(llm):
    llm("-m", "homefire", "My name is Ada.", "-o", "max_tokens", "8")
    llm("-c", "What is my name?", "-o", "max_tokens", "8")
    # The second request carried the first exchange, as chat history.
    last = Conversation.objects.order_by("-id").first()
    assert [m.content for m in last.messages.all()][0] == "My name is Ada."
    assert last.messages.count() == 4


def test_a_completion_model(llm):
    assert llm("-m", "homefire-completion", "1, 2, 3,", "-o", "max_tokens", "6").strip()
    answer = Message.objects.get(role="assistant")
    assert answer.sampling.get("raw") is True


def test_a_responses_model(llm):
    assert llm("-m", "homefire-responses", "Say hi.", "-o", "max_tokens", "16").strip()
    assert Message.objects.filter(role="assistant", status="done").count() == 1


def test_its_log_holds_the_answers_and_their_usage(llm):
    llm("-m", "homefire", "Say hello.", "-o", "max_tokens", "8")
    (logged,) = json.loads(llm("logs", "--json", "-n", "1"))
    answer = Message.objects.get(role="assistant")
    assert logged["response"] == answer.content != ""
    assert logged["output_tokens"] == answer.completion_tokens


def test_a_schema(llm):
    schema = "name, age int"  # llm's concise schema syntax: a JSON schema of an object
    # Greedy, with room: sampled, the small model sometimes rambles in the name until the
    # test model's 48 tokens cut the object short (a CI run saw it once).
    options = ["-o", "temperature", "0", "-o", "max_tokens", "200"]
    person = json.loads(llm("-m", "homefire", *options, "--schema", schema, "Invent a person."))
    assert set(person) == {"name", "age"}
    assert isinstance(person["name"], str) and isinstance(person["age"], int)
    answer = Message.objects.get(role="assistant")
    assert answer.sampling.get("grammar") and json.loads(answer.content) == person


def test_a_json_schema_given_whole(llm):
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 20}},
        "required": ["city"],
    }
    place = json.loads(llm("-m", "homefire", "--schema", json.dumps(schema), "Name a city."))
    assert list(place) == ["city"] and isinstance(place["city"], str)
