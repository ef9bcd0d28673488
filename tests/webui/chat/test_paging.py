"""A long conversation opens at its latest messages; earlier ones come a page at a time."""

import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from tests.streams import communicator, make_user, session_cookie
from webui.chat.models import Conversation, Message
from webui.chat.paging import PAGE_SIZE


@pytest.fixture
def long(db):
    conversation = Conversation.objects.create(owner=make_user("alice"), title="Long")
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            role="user" if i % 2 == 0 else "assistant",
            content=f"message number {i:03d}",
        )
        for i in range(PAGE_SIZE * 2 + 10)
    )
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


async def _redraw(socket) -> str:
    """The next frame that redraws the messages (a version shown, an edit, a deletion)."""
    while not re.search(
        r'<div id="messages" hx-swap-oob="innerHTML">',
        frame := await socket.receive_from(timeout=10),
    ):
        pass
    return frame


@pytest.mark.django_db(transaction=True)
async def test_a_redraw_after_a_message_action_keeps_what_the_acting_tab_showed(long):
    cookie = await sync_to_async(session_cookie)(long.owner)
    acting, other = (communicator(f"/ws/conversations/{long.pk}/", cookie=cookie) for _ in "ab")
    for socket in (acting, other):
        assert (await socket.connect())[0]
    last = await Message.objects.filter(conversation=long).order_by("id").alast()
    newest = PAGE_SIZE * 2 + 9
    # (what the tab says, the first message it gets back): it said how many messages come
    # before its first one; none, or nonsense, gets the last page; it never gets less.
    page = PAGE_SIZE + 10
    cases = [
        (None, page),
        (0, 0),
        (20, 20),
        (90, page),
        ("20 OR 1=1", page),
        (-5, page),
        ([3], page),
    ]
    for said, first in cases:
        frame = {"action": "show_version", "message_id": last.pk}
        if said is not None:
            frame["earlier"] = said
        await acting.send_to(text_data=json.dumps(frame))
        html = await _redraw(acting)
        assert _numbers(html) == list(range(first, newest + 1)), said
        assert (f'data-earlier-count="{first}"' in html) == (first > 0), said
        # The other tab of the same conversation gets the page a reload shows.
        assert _numbers(await _redraw(other)) == list(range(page, newest + 1))
    for socket in (acting, other):
        await socket.disconnect()
