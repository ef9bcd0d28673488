"""Rename, pin, archive and delete; the sidebar's groups by day and its pages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.streams import make_user
from webui.chat import selectors, services
from webui.chat.models import Conversation, Message
from webui.chat.selectors import SIDEBAR_PAGE_SIZE


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


def conversation_of(owner, title="Chat", *, age=timedelta(0), **fields):
    conversation = Conversation.objects.create(owner=owner, title=title, **fields)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now() - age)
    return conversation


def labels(page):
    return [(g.label, [c.title for c in g.conversations]) for g in page.groups]


def test_sidebar_puts_pinned_first_then_groups_by_day(alice):
    conversation_of(alice, "old", age=timedelta(days=30))
    conversation_of(alice, "week", age=timedelta(days=4))
    conversation_of(alice, "yesterday", age=timedelta(days=1))
    conversation_of(alice, "today")
    conversation_of(alice, "pinned old", age=timedelta(days=90), pinned=True)
    conversation_of(alice, "archived", archived=True)
    page = selectors.conversation_sidebar(user=alice)
    assert labels(page) == [
        ("Pinned", ["pinned old"]),
        ("Today", ["today"]),
        ("Yesterday", ["yesterday"]),
        ("Previous 7 days", ["week"]),
        ("Older", ["old"]),
    ]
    assert page.next_page is None
    archived = selectors.conversation_sidebar(user=alice, archived=True)
    assert labels(archived) == [("Today", ["archived"])]


def test_days_are_counted_in_the_configured_time_zone(alice, settings, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
    late = Conversation.objects.create(owner=alice, title="late")
    Conversation.objects.filter(pk=late.pk).update(updated_at=datetime(2026, 3, 9, 20, tzinfo=UTC))
    assert labels(selectors.conversation_sidebar(user=alice)) == [("Yesterday", ["late"])]
    settings.TIME_ZONE = "Pacific/Auckland"  # 20:00 UTC on the 9th is 09:00 on the 10th there
    assert labels(selectors.conversation_sidebar(user=alice)) == [("Today", ["late"])]


def test_sidebar_never_lists_other_users_or_api_conversations(alice, bob):
    conversation_of(bob, "bob's")
    conversation_of(alice, "api", source=Conversation.Source.API)
    assert selectors.conversation_sidebar(user=alice).groups == []


def test_sidebar_pages_continue_groups_with_one_query_each(alice):
    total = SIDEBAR_PAGE_SIZE * 2 + 5
    Conversation.objects.bulk_create(Conversation(owner=alice, title=f"c{i}") for i in range(total))
    pages = []
    for number in (1, 2, 3):
        with CaptureQueriesContext(connection) as queries:
            pages.append(selectors.conversation_sidebar(user=alice, page=number))
        assert len(queries) == 1
    assert [p.next_page for p in pages] == [2, 3, None]
    assert [sum(len(g.conversations) for g in p.groups) for p in pages] == [50, 50, 5]
    assert [g.continued for g in pages[0].groups] == [False]
    assert [g.continued for g in pages[1].groups] == [True]


def test_sidebar_partial_costs_the_same_queries_for_any_page(client, alice, bob):
    client.force_login(alice)
    Conversation.objects.create(owner=alice, title="only one")
    url = reverse("chat:sidebar")
    client.get(url)  # the account's standing, read once and kept (webui.team.policy_cache)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    Conversation.objects.bulk_create(Conversation(owner=alice, title=f"c{i}") for i in range(120))
    with CaptureQueriesContext(connection) as large:
        page = client.get(url, {"page": 2})
    assert len(small) == len(large)
    body = page.content.decode()
    assert body.count("data-conversation-id=") == SIDEBAR_PAGE_SIZE
    assert 'hx-get="/sidebar/?page=3"' in body and 'hx-trigger="revealed"' in body


def test_home_sidebar_shows_first_page_and_a_revealed_loader(client, alice):
    Conversation.objects.bulk_create(Conversation(owner=alice, title=f"c{i}") for i in range(60))
    client.force_login(alice)
    body = client.get(reverse("chat:home")).content.decode()
    assert body.count("data-conversation-id=") == SIDEBAR_PAGE_SIZE
    assert '<h2 class="sidebar-group">Today</h2>' in body
    assert 'hx-get="/sidebar/?page=2"' in body


def test_archived_page_lists_only_archived(client, alice):
    kept = conversation_of(alice, "kept")
    shelved = conversation_of(alice, "shelved", archived=True)
    client.force_login(alice)
    home = client.get(reverse("chat:home")).content.decode()
    assert f'data-conversation-id="{kept.pk}"' in home
    assert f'data-conversation-id="{shelved.pk}"' not in home
    assert reverse("chat:archived") in home
    archive = client.get(reverse("chat:archived")).content.decode()
    assert f'data-conversation-id="{shelved.pk}"' in archive
    assert f'data-conversation-id="{kept.pk}"' not in archive


def test_rename_pin_and_archive_by_post(client, alice):
    conversation = conversation_of(alice, "before", age=timedelta(days=3))
    client.force_login(alice)
    response = client.post(reverse("chat:rename", args=[conversation.pk]), {"title": "  after\n "})
    assert response.status_code == 302
    client.post(reverse("chat:arrange", args=[conversation.pk]), {"action": "pin"})
    client.post(reverse("chat:arrange", args=[conversation.pk]), {"action": "archive"})
    conversation.refresh_from_db()
    assert (conversation.title, conversation.pinned, conversation.archived) == ("after", True, True)
    # Arranging is not activity: the conversation keeps its place by day.
    assert timezone.now() - conversation.updated_at > timedelta(days=2)
    client.post(reverse("chat:arrange", args=[conversation.pk]), {"action": "unarchive"})
    client.post(reverse("chat:arrange", args=[conversation.pk]), {"action": "unpin"})
    conversation.refresh_from_db()
    assert (conversation.pinned, conversation.archived) == (False, False)


def test_rename_refuses_an_empty_title(client, alice):
    conversation = conversation_of(alice, "keep me")
    client.force_login(alice)
    response = client.post(reverse("chat:rename", args=[conversation.pk]), {"title": "   "})
    assert response.status_code == 400
    assert "Give the conversation a title." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.title == "keep me"


def test_rename_service_refuses_long_titles(alice):
    conversation = conversation_of(alice)
    with pytest.raises(services.MessageRejected, match="the limit is 200"):
        services.conversation_rename(conversation=conversation, title="x" * 201)


def test_delete_asks_first_then_deletes_on_post(client, alice):
    conversation = conversation_of(alice, "doomed")
    Message.objects.create(conversation=conversation, role="user", content="hi")
    client.force_login(alice)
    url = reverse("chat:delete", args=[conversation.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Delete this conversation?" in confirm.content.decode()
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert client.post(url)["Location"] == reverse("chat:home")
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()


def test_others_cannot_rename_arrange_or_delete(client, alice, bob):
    conversation = conversation_of(alice, "mine")
    client.force_login(bob)
    for name, data in [("rename", {"title": "x"}), ("arrange", {"action": "pin"}), ("delete", {})]:
        assert client.post(reverse(f"chat:{name}", args=[conversation.pk]), data).status_code == 404
    assert client.get(reverse("chat:delete", args=[conversation.pk])).status_code == 404
    conversation.refresh_from_db()
    assert (conversation.title, conversation.pinned) == ("mine", False)


def test_changes_need_post_with_csrf(alice):
    from django.test import Client

    conversation = conversation_of(alice, "mine")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(reverse("chat:rename", args=[conversation.pk])).status_code == 405
    assert client.get(reverse("chat:arrange", args=[conversation.pk])).status_code == 405
    assert client.post(reverse("chat:delete", args=[conversation.pk])).status_code == 403
    assert Conversation.objects.filter(pk=conversation.pk).exists()
