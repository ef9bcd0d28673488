"""Malformed and oversized imports: a 400 whose text names what is wrong, and nothing stored."""

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.hostile.tally import tried
from webui.chat import transfer_checks
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

HUGE = [2**31, 2**63, 2**64, 10**30]
NOT_TEXT = [5, 2**63, 1.5, True, [], {}, ["smollm2"], {"slug": "smollm2"}]
NOT_BOOL = [1, 0, "yes", [], {}, 2**63]
NOT_TIME = [5, 2**63, True, [], {}, "yesterday", "2024-13-45T00:00:00", "9999-12-31T23:59:59-14:00"]
NOT_COUNT = [-1, 1.5, "3", True, [], {}, *HUGE]
NOT_NUMBER = ["fast", True, [], {}, [1.0], 10**400]
NOT_POSITION = [-1, 1.5, "0", True, [], {}, 2**63, 1]

MESSAGE_CASES = (
    [(name, v) for name in ("role", "content", "status", "error", "worker") for v in NOT_TEXT]
    + [("finish_reason", v) for v in NOT_TEXT]
    + [("model", v) for v in NOT_TEXT]
    + [(name, v) for name in ("prompt_tokens", "completion_tokens") for v in NOT_COUNT]
    + [("truncated_turns", v) for v in NOT_COUNT]
    + [(name, v) for name in ("ttft_ms", "tokens_per_second") for v in NOT_NUMBER]
    + [(name, v) for name in ("created_at", "started_at", "finished_at") for v in NOT_TIME]
    + [(name, v) for name in ("parent", "version_of") for v in NOT_POSITION]
    + [("shown", v) for v in NOT_BOOL]
    + [("sampling", v) for v in ("hot", 5, 2**63, True, [], [1], ["seed", 1])]
    + [("sampling", {"seed": "abc"}), ("sampling", {"stop": [1, [2], True]})]
    + [("sampling", {"seed": 2**64}), ("sampling", {"temperature": "hot"})]
    + [("sampling", {"stop": ["x"] * 300_000})]
    + [
        ("content", "x" * 2**17),
        ("content", "nul \x00 inside"),
        ("content", "lone \ud800 surrogate"),
        ("error", "x" * 2**17),
        ("worker", "w" * 201),
        ("finish_reason", "stop" * 5),
    ]
)
CONVERSATION_CASES = (
    [("title", v) for v in (5, 2**63, True, [], {}, None, "", "t" * 201, "nul \x00")]
    + [("model", v) for v in NOT_TEXT]
    + [(name, v) for name in ("pinned", "archived") for v in NOT_BOOL]
    + [(name, v) for name in ("created_at", "updated_at") for v in NOT_TIME]
    + [("messages", v) for v in ({}, "hi", 5, 2**63, None)]
)


def _message(**changes) -> dict:
    return {"role": "user", "content": "hi", "status": "done", **changes}


def _document(conversation: dict | None = None, **changes) -> dict:
    conversation = {"title": "t", "messages": [_message(), _message()], **(conversation or {})}
    return {"format": transfer_checks.FORMAT, "version": transfer_checks.VERSION} | {
        "conversations": [conversation],
        **changes,
    }


def _import(client: Client, raw: bytes):
    upload = SimpleUploadedFile("x.json", raw, "application/json")
    return client.post("/import/", {"file": upload})


def _refused(client: Client, raw: bytes, *names: str) -> str:
    """Import raw; check it got a 400 naming each of `names` and stored nothing."""
    response = _import(client, raw)
    tried("input")
    text = response.content.decode()
    assert response.status_code == 400, (raw[:300], response.status_code, text[-300:])
    assert "This file" in text
    for name in names:
        assert name in text, (name, raw[:300], text[-1500:])
    assert not Conversation.objects.exists() and not Message.objects.exists()
    return text


@pytest.fixture
def client(owned):
    Conversation.objects.all().delete()  # the shared rows: the file's must be the only ones
    client = Client(raise_request_exception=False)
    client.force_login(owned.bob)
    return client


@pytest.mark.parametrize(("name", "value"), MESSAGE_CASES, ids=lambda v: repr(v)[:40])
def test_a_bad_message_field_gets_400_naming_it(client, name, value):
    second = _message(**{name: value})
    raw = json.dumps(_document({"messages": [_message(), second]})).encode()
    _refused(client, raw, "message 2 of conversation 1", name)


@pytest.mark.parametrize(("name", "value"), CONVERSATION_CASES, ids=lambda v: repr(v)[:40])
def test_a_bad_conversation_field_gets_400_naming_it(client, name, value):
    raw = json.dumps(_document({name: value})).encode()
    _refused(client, raw, "conversation 1", name)


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'"text"',
        b"5",
        b"null",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"format": "homefire.conversations", "version": 1, "conversations": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}",
        b'{"format": "homefire.conversations", "version": 1, "conversations": {}}',
        b'{"format": "homefire.conversations", "version": ' + b"9" * 5000 + b"}",
        b'{"format": "homefire.conversations", "version": 1e400, "conversations": []}',
        b'{"format": "homefire.conversations", "version": NaN, "conversations": []}',
        b'{"format": "homefire.conversations", "version": 1, "conversations": [Infinity]}',
        b'{"format": ["homefire.conversations"], "version": 1, "conversations": []}',
        b'{"format": "homefire.conversations", "version": 18446744073709551617, '
        b'"conversations": []}',
        b'{"format": "homefire.conversations", "version": 1, "conversations": [5]}',
        b'{"format": "homefire.conversations", "version": 1, "conversations": '
        b'[{"title": "t", "messages": [5]}]}',
    ],
    ids=lambda raw: repr(raw[:60]),
)
def test_a_malformed_document_gets_400(client, raw):
    _refused(client, raw)


def test_more_messages_than_allowed_get_400_naming_the_bound(client):
    limit = settings.HOMEFIRE["IMPORT_MAX_MESSAGES"]
    half = [_message()] * (limit // 2 + 1)
    raw = json.dumps(_document(conversations=[{"title": "a", "messages": half}] * 2)).encode()
    text = _refused(client, raw)
    assert f"holds {2 * (limit // 2 + 1):,} messages; one import may hold up to {limit:,}" in text


def test_more_conversations_than_allowed_get_400_naming_the_bound(client):
    limit = settings.HOMEFIRE["IMPORT_MAX_MESSAGES"]
    raw = json.dumps(_document(conversations=[{"title": "a", "messages": []}] * (limit + 1)))
    text = _refused(client, raw.encode())
    assert f"holds {limit + 1:,} conversations; one import may hold up to {limit:,}" in text


def test_a_message_longer_than_a_typed_one_gets_400_naming_the_bound(client):
    limit = settings.HOMEFIRE["MAX_MESSAGE_CHARS"]
    raw = json.dumps(_document({"messages": [_message(content="z" * (limit + 1))]})).encode()
    text = _refused(client, raw, "message 1 of conversation 1", "content")
    assert f"{limit + 1:,} characters" in text and f"the limit is {limit:,}" in text


def test_a_file_over_the_size_limit_gets_400_naming_the_bound(client):
    raw = b" " * (transfer_checks.MAX_IMPORT_BYTES + 1)
    text = _refused(client, raw)
    assert "the limit is 20 MB" in text


def test_every_bound_is_stated_on_the_page(client):
    page = client.get("/import/").content.decode()
    assert f"{settings.HOMEFIRE['IMPORT_MAX_MESSAGES']:,} messages" in page
    assert f"{settings.HOMEFIRE['MAX_MESSAGE_CHARS']:,} characters" in page
    assert "20 MB" in page
