"""A long conversation opens at its latest messages; earlier ones come a page at a time."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.streams import make_user
from webui.chat.models import Conversation, Message
from webui.chat.paging import PAGE_SIZE


@pytest.fixture
def long(db):
    conversation = Conversation.objects.create(owner=make_user("alice"), title="Long")
    Message.objects.bulk_create(
        Message(conversation=conversation, role="user" if i % 2 == 0 else "assistant",
                content=f"message number {i:03d}")
        for i in range(PAGE_SIZE * 2 + 10)
    )  # fmt: skip
    return conversation


def _numbers(html: str) -> list[int]:
    """The messages shown, in order (a message's text may appear twice, as in its edit form)."""
    return list(dict.fromkeys(int(part[:3]) for part in html.split("message number ")[1:]))


def test_the_page_opens_at_the_latest_messages(long):
    client = Client()
    client.force_login(long.owner)
    page = client.get(long.get_absolute_url()).content.decode()
    assert _numbers(page) == list(range(PAGE_SIZE + 10, PAGE_SIZE * 2 + 10))
    assert 'data-earlier-count="60"' in page and "Show 50 earlier messages" in page

    first = Message.objects.get(content=f"message number {PAGE_SIZE + 10:03d}")
    url = reverse("chat:earlier", args=[long.pk])
    more = client.get(url, {"before": first.pk}).content.decode()
    assert _numbers(more) == list(range(10, PAGE_SIZE + 10))
    assert "Show 10 earlier messages" in more
    oldest = Message.objects.get(content="message number 010")
    rest = client.get(url, {"before": oldest.pk}).content.decode()
    assert _numbers(rest) == list(range(10)) and "earlier-messages" not in rest

    everything = client.get(long.get_absolute_url(), {"all": "1"}).content.decode()
    assert _numbers(everything) == list(range(PAGE_SIZE * 2 + 10))


def test_earlier_pages_are_the_owners_only(long):
    client = Client()
    client.force_login(make_user("bob"))
    assert client.get(reverse("chat:earlier", args=[long.pk])).status_code == 404
