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
        (b"\xff\xfe not json", "This file is not JSON. Import reads a Homefire export, "),
        (b'{"format": "other"}', "This file cannot be imported: it is not a Homefire export, "),
        (
            b'{"format": "homefire.conversations", "version": 1, "conversations": [{"title": "ok",'
            b' "messages": []}, {"title": "bad", "messages": [{"role": "wizard"}]}]}',
            "This file cannot be imported: message 1 of conversation 2 has an unknown role.",
        ),
        (
            b'{"format": "homefire.conversations", "version": 1, "conversations": [{"title": "t",'
            b' "messages": [{"role": "user", "status": "done",'
            b' "completion_tokens": -1}]}]}',
            "message 1 of conversation 1 has a completion_tokens that is not a whole number"
            " from 0 to 2,147,483,647.",
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
    assert "Choose a JSON file to import." in page.content.decode()


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


def _file(*conversations) -> bytes:
    return json.dumps(
        {"format": transfer.FORMAT, "version": transfer.VERSION, "conversations": conversations}
    ).encode()


def test_imported_sampling_keeps_only_settings_a_worker_can_use(bob):
    sampling = {"temperature": 0.5, "stop": [], "seed": None, "mirostat": 2, "via": "api"}
    raw = _file(
        {"title": "t", "messages": [{"role": "assistant", "status": "done", "sampling": sampling}]}
    )
    [conversation] = transfer.conversations_import(owner=bob, raw=raw)
    assert conversation.messages.get().sampling == {"temperature": 0.5, "via": "api"}


def test_bad_sampling_refuses_the_file_naming_the_setting(bob):
    raw = _file(
        {
            "title": "t",
            "messages": [{"role": "assistant", "status": "done", "sampling": {"seed": "x"}}],
        }
    )
    with pytest.raises(transfer.ImportRejected) as refused:
        transfer.conversations_import(owner=bob, raw=raw)
    assert str(refused.value) == (
        "This file cannot be imported: message 1 of conversation 1 has sampling settings that "
        "cannot be used: 'seed' must be an integer."
    )
    assert not Conversation.objects.exists()


def test_an_import_is_hidden_until_its_end_and_an_abandoned_one_is_deleted(bob):
    from datetime import timedelta

    from django.utils import timezone

    abandoned = Conversation.objects.create(owner=bob, title="cut short", source="import")
    Message.objects.create(conversation=abandoned, role="user", content="half")
    long_ago = timezone.now() - transfer.ABANDONED_AFTER - timedelta(minutes=1)
    Conversation.objects.filter(pk=abandoned.pk).update(updated_at=long_ago)
    running = Conversation.objects.create(owner=bob, title="another tab's", source="import")
    assert not selectors.conversation_list(user=bob).exists()
    assert selectors.conversations_for_export(user=bob) == []

    [imported] = transfer.conversations_import(owner=bob, raw=_file({"title": "t", "messages": []}))
    assert imported.source == "chat"
    assert list(selectors.conversation_list(user=bob)) == [imported]
    assert set(Conversation.objects.filter(owner=bob)) == {imported, running}
    assert not Message.objects.filter(conversation_id=abandoned.pk).exists()


def test_messages_link_across_batches(bob):
    count = transfer.BATCH_ROWS * 2 + 7
    messages = [
        {"role": "user", "status": "done", "content": f"m{i}", "parent": i - 1 if i else None}
        for i in range(count)
    ]
    messages[-1]["version_of"] = 3
    raw = _file(
        {"title": "a", "messages": [{"role": "user", "status": "done"}]},
        {"title": "b", "messages": messages},
    )
    first, second = transfer.conversations_import(owner=bob, raw=raw)
    rows = list(second.messages.order_by("pk"))
    assert [r.content for r in rows] == [f"m{i}" for i in range(count)]
    assert all(rows[i].parent_id == rows[i - 1].pk for i in range(1, count))
    assert rows[0].parent_id is None and rows[-1].version_of_id == rows[3].pk
    assert first.messages.count() == 1
