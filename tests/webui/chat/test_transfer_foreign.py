"""Importing ChatGPT, Open WebUI and LibreChat exports: messages in order, branches as
versions with the export's current one shown, and the import's own bounds and checks."""

import copy
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.streams import make_user
from tests.webui.chat import foreign_exports as samples
from webui.chat import transfer, versions
from webui.chat.models import Conversation, Message


@pytest.fixture
def bob(db):
    return make_user("bob")


def shown(conversation) -> list[tuple[str, str]]:
    path = versions.shown_path(list(conversation.messages.order_by("created_at", "id")))
    return [(m.role, m.content) for m in path]


def test_chatgpt_export_imports_its_current_branch_shown_and_others_as_versions(bob):
    first, second = transfer.conversations_import(owner=bob, raw=samples.raw(samples.CHATGPT))
    assert shown(first) == [
        ("user", "How long to boil an egg?"),
        ("assistant", "About **nine** minutes."),
        ("user", "And a soft-boiled one?"),
        ("assistant", "Six and a half minutes."),
    ]
    assert first.title == "Boiling eggs"
    assert first.created_at == datetime.fromtimestamp(1714560000.12, UTC)
    # The edited question: two versions, the second shown; the first keeps its answer.
    edited = first.messages.get(content="And a soft-boiled one?")
    original = first.messages.get(content="And a soft one?")
    assert edited.version_of_id == original.pk and not original.shown
    assert original.parent_id == edited.parent_id
    assert first.messages.get(content="Six minutes.").parent_id == original.pk
    # The regenerated answer: current_node names the older one, and that one is shown.
    newer = first.messages.get(content="About six minutes.")
    assert not newer.shown and newer.version_of.content == "Six and a half minutes."
    # Tool calls, tool output and hidden system notes are not messages here.
    assert first.messages.count() == 7
    assert second.title == "Imported conversation"
    assert shown(second) == [("user", "<script>alert(1)</script>")]


def test_an_answer_dated_before_its_question_still_follows_it(bob):
    [first, _] = transfer.conversations_import(owner=bob, raw=samples.raw(samples.CHATGPT))
    question = first.messages.get(content="And a soft-boiled one?")
    answer = first.messages.get(content="Six and a half minutes.")
    assert answer.parent_id == question.pk and answer.created_at >= question.created_at


def test_open_webui_export_imports_branches_flags_and_old_flat_chats(bob):
    first, second = transfer.conversations_import(owner=bob, raw=samples.raw(samples.OPEN_WEBUI))
    assert shown(first) == [
        ("user", "How often do I feed a starter?"),
        ("assistant", "Once a day at room temperature."),
        ("user", "And in the fridge?"),
        ("assistant", "Once a week."),
    ]
    regenerated = first.messages.get(content="Daily, or weekly if kept in the fridge.")
    assert not regenerated.shown
    assert regenerated.version_of.content == "Once a day at room temperature."
    assert first.pinned and not first.archived
    assert first.updated_at == datetime.fromtimestamp(1720000034, UTC)
    assert second.archived and shown(second) == [("user", "Hello"), ("assistant", "Hi there!")]


def test_librechat_tree_export_shows_the_newest_branch(bob):
    [conversation] = transfer.conversations_import(
        owner=bob, raw=samples.raw(samples.LIBRECHAT_TREE)
    )
    assert conversation.title == "Python venv"
    assert shown(conversation) == [
        ("user", "How do I activate a venv?"),
        ("assistant", "Run `source venv/bin/activate`."),
        ("user", "And on Windows?"),
        ("assistant", "Run `venv\\Scripts\\activate`."),
    ]
    thanks = conversation.messages.get(content="thanks")
    assert not thanks.shown and thanks.later_versions.get().content == "And on Windows?"


def test_librechat_flat_export_imports_in_order(bob):
    [conversation] = transfer.conversations_import(
        owner=bob, raw=samples.raw(samples.LIBRECHAT_FLAT)
    )
    assert shown(conversation) == [
        ("user", "Fuel use of a VW Transporter?"),
        ("assistant", "About 8.2 litres per 100 km."),
    ]
    assert conversation.messages.first().created_at == datetime(
        2024, 4, 9, 14, 32, 5, 230000, tzinfo=UTC
    )


def test_foreign_text_stays_inert_on_the_page(client, bob):
    [_, second] = transfer.conversations_import(owner=bob, raw=samples.raw(samples.CHATGPT))
    client.force_login(bob)
    page = client.get(second.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_import_page_reads_a_foreign_export(client, bob):
    client.force_login(bob)
    upload = SimpleUploadedFile(
        "conversations.json", samples.raw(samples.OPEN_WEBUI), "application/json"
    )
    page = client.post(reverse("chat:import"), {"file": upload})
    assert page.status_code == 200
    assert "Imported 2 conversations" in page.content.decode()


def _refused(document) -> str:
    with pytest.raises(transfer.ImportRejected) as refused:
        transfer.conversations_import(owner=make_user("carol"), raw=samples.raw(document))
    assert not Conversation.objects.exists() and not Message.objects.exists()
    return str(refused.value)


@pytest.mark.django_db
@pytest.mark.parametrize("document", [{"format": "other"}, {"messages": []}, [1, 2], "text"])
def test_a_file_of_no_known_format_names_the_formats_read(document):
    assert _refused(document) == (
        "This file cannot be imported: it is not a Homefire export, ChatGPT's "
        "conversations.json, or an Open WebUI or LibreChat JSON export, the formats this "
        "server reads."
    )


@pytest.mark.django_db
def test_messages_that_answer_each_other_in_a_loop_are_refused():
    looped = copy.deepcopy(samples.CHATGPT[1])
    looped["mapping"]["root"] |= {
        "parent": "u",
        "message": {
            "author": {"role": "user"},
            "content": {"content_type": "text", "parts": ["x"]},
        },
    }
    assert _refused([looped]) == (
        "This file cannot be imported: conversation 1 has messages that answer each other in "
        "a loop."
    )


@pytest.mark.django_db
def test_a_foreign_message_over_the_bound_refuses_the_whole_file(settings):
    settings.HOMEFIRE = settings.HOMEFIRE | {"MAX_MESSAGE_CHARS": 10}
    assert _refused(samples.OPEN_WEBUI) == (
        "This file cannot be imported: message 1 of conversation 1 has a content of 30 "
        "characters; the limit is 10."
    )


@pytest.mark.django_db
def test_a_foreign_export_counts_against_the_message_bound(settings):
    settings.HOMEFIRE = settings.HOMEFIRE | {"IMPORT_MAX_MESSAGES": 6}
    assert _refused(samples.CHATGPT) == (
        "This file cannot be imported: it holds 8 messages; one import may hold up to 6 (an "
        "admin can raise this)."
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            lambda d: d["messagesTree"][0].update(createdAt="yesterday"),
            "message '9501f99d-9bbb-40cb-bbb2-16d79aec0001' of the conversation has a createdAt"
            " that is not a date.",
        ),
        (
            lambda d: d["messagesTree"][0].update(createdAt=1e300),
            "has a createdAt out of range.",
        ),
        (
            lambda d: d["messagesTree"][0].update(text="a\x00b"),
            "message 1 of conversation 1 has a content with a NUL character.",
        ),
        (
            lambda d: d["messagesTree"][0].update(children="none"),
            "the conversation has children that are not a list.",
        ),
    ],
)
def test_bad_values_in_a_foreign_export_are_refused_naming_them(change, error):
    document = copy.deepcopy(samples.LIBRECHAT_TREE)
    change(document)
    assert _refused(document).endswith(error)
