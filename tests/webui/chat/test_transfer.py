"""Export to Markdown and JSON, and import the JSON back without loss."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.streams import make_user
from webui.chat import selectors, transfer
from webui.chat.models import Conversation, Message

FIELDS = (
    "role",
    "content",
    "status",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "ttft_ms",
    "tokens_per_second",
    "finish_reason",
    "truncated_turns",
    "sampling",
    "model_id",
    "created_at",
)


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def history(alice, bundled_model):
    first = Conversation.objects.create(
        owner=alice, title="Égg <timing>", model=bundled_model, pinned=True
    )
    Message.objects.create(conversation=first, role="user", content="How long to boil an egg?")
    Message.objects.create(
        conversation=first,
        role="assistant",
        content="About **nine** minutes.\n\n```\nboil()\n```",
        model=bundled_model,
        prompt_tokens=31,
        completion_tokens=12,
        ttft_ms=84.5,
        tokens_per_second=41.25,
        finish_reason="stop",
        sampling={"temperature": 0.7},
    )
    second = Conversation.objects.create(owner=alice, title="Stopped one", archived=True)
    Message.objects.create(conversation=second, role="user", content="Tell a long story")
    Message.objects.create(
        conversation=second,
        role="assistant",
        content="Once upon",
        status="stopped",
        completion_tokens=3,
        finish_reason="stopped",
        model=bundled_model,
    )
    Message.objects.create(
        conversation=second,
        role="assistant",
        content="",
        status="failed",
        error="The worker stopped while writing this answer.",
    )
    return [first, second]


def snapshot(conversations):
    return [
        (
            c.title,
            c.model_id,
            c.pinned,
            c.archived,
            c.created_at,
            c.updated_at,
            [tuple(getattr(m, f) for f in FIELDS) for m in c.messages.order_by("created_at", "id")],
        )
        for c in conversations
    ]


def test_round_trip_through_json_loses_nothing(client, alice, bob, history):
    client.force_login(alice)
    response = client.get(reverse("chat:export_all"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="homefire.json"'

    client.force_login(bob)
    upload = SimpleUploadedFile("homefire.json", response.content, "application/json")
    page = client.post(reverse("chat:import"), {"file": upload})
    assert page.status_code == 200
    assert "Imported 2 conversations" in page.content.decode()
    imported = list(Conversation.objects.filter(owner=bob).order_by("created_at", "id"))
    assert snapshot(imported) == snapshot(history)
    assert Conversation.objects.filter(owner=alice).count() == 2


def test_one_conversation_exports_as_json_and_markdown(client, alice, history):
    client.force_login(alice)
    first = history[0]
    as_json = client.get(reverse("chat:export_json", args=[first.pk]))
    assert as_json["Content-Disposition"].startswith("attachment;")
    document = json.loads(as_json.content)
    assert [c["title"] for c in document["conversations"]] == ["Égg <timing>"]
    assert document["conversations"][0]["messages"][1]["completion_tokens"] == 12

    as_md = client.get(reverse("chat:export_md", args=[first.pk]))
    assert as_md["Content-Type"] == "text/markdown; charset=utf-8"
    assert as_md["Content-Disposition"] == (
        f'attachment; filename="homefire-{first.pk}-egg-timing.md"'
    )
    text = as_md.content.decode()
    assert text.startswith("# Égg <timing>\n")
    assert "## You\n\nHow long to boil an egg?" in text
    assert "## SmolLM2" in text and "```\nboil()\n```" in text


def test_markdown_notes_stopped_and_failed_answers(alice, history):
    text = transfer.export_markdown(
        selectors.conversations_for_export(user=alice, id=history[1].pk)
    )
    assert "(stopped)\n\nOnce upon" in text
    assert "(failed)" in text and "> The worker stopped while writing this answer." in text


def test_export_is_owner_only(client, bob, history):
    client.force_login(bob)
    for name in ("export_md", "export_json"):
        assert client.get(reverse(f"chat:{name}", args=[history[0].pk])).status_code == 404
    everything = json.loads(client.get(reverse("chat:export_all")).content)
    assert everything["conversations"] == []


def test_export_all_costs_two_queries(alice, history, django_assert_num_queries):
    with django_assert_num_queries(2):
        transfer.export_json(selectors.conversations_for_export(user=alice))


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"\xff\xfe not json", "This file is not JSON exported from Homefire."),
        (b'{"format": "other"}', "This file cannot be imported: it is not a Homefire export."),
        (
            b'{"format": "homefire.conversations", "version": 1, "conversations": [{"title": "ok",'
            b' "messages": []}, {"title": "bad", "messages": [{"role": "wizard"}]}]}',
            "This file cannot be imported: message 1 of conversation 2 has an unknown role.",
        ),
        (
            b'{"format": "homefire.conversations", "version": 1, "conversations": [{"title": "t",'
            b' "messages": [{"role": "user", "status": "done",'
            b' "completion_tokens": -1}]}]}',
            "message 1 of conversation 1 has a completion_tokens that is not a whole number.",
        ),
        (
            b'{"format": "homefire.conversations", "version": 1, "conversations": []}',
            "This file cannot be imported: it holds no conversations.",
        ),
    ],
)
def test_bad_files_are_refused_and_create_nothing(client, bob, content, error):
    client.force_login(bob)
    upload = SimpleUploadedFile("x.json", content, "application/json")
    page = client.post(reverse("chat:import"), {"file": upload})
    assert page.status_code == 400
    assert error in page.content.decode()
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_import_without_a_file_says_so(client, bob):
    client.force_login(bob)
    page = client.post(reverse("chat:import"))
    assert page.status_code == 400
    assert "Choose a JSON file exported from Homefire." in page.content.decode()


def test_answers_exported_mid_stream_come_back_stopped(bob):
    raw = json.dumps(
        {
            "format": "homefire.conversations",
            "version": 1,
            "conversations": [
                {"title": "t", "messages": [{"role": "assistant", "status": "streaming"}]}
            ],
        }
    ).encode()
    [conversation] = transfer.conversations_import(owner=bob, raw=raw)
    assert conversation.messages.get().status == "stopped"


def test_import_needs_csrf(bob, history):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    raw = transfer.export_json(history)
    upload = SimpleUploadedFile("x.json", raw.encode(), "application/json")
    assert client.post(reverse("chat:import"), {"file": upload}).status_code == 403
