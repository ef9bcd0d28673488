"""Temporary chats in Chromium with the real worker: answered, marked while open, absent
from the sidebar, from search and from the export, counted in token usage, and gone when its
tab is reloaded or closed. No console errors."""

import json

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.conftest import HousekeepingProcess, wait_for
from tests.environment import RUN_DIR
from tests.streams import make_user
from webui.chat.models import Conversation, Message
from webui.team.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _watch_errors(page) -> list[str]:
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@pytest.fixture
def quick_housekeeping():
    """Housekeeping whose temporary chats outlive their tab by one second."""
    process = HousekeepingProcess(
        RUN_DIR / "housekeeping-temporary.log", HOMEFIRE_TEMPORARY_GRACE="1"
    )
    yield process
    process.stop()


def test_a_temporary_chat_is_answered_counted_and_gone_with_its_tab(
    browser, asgi_server, live_worker, bundled_model, quick_housekeeping
):
    alice = make_user("alice")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = _watch_errors(page)
    log_in(page, asgi_server, "alice")

    toggle = page.get_by_label("Temporary chat")
    note = page.locator("#temporary-note")
    expect(note).to_be_hidden()
    toggle.check()
    expect(note).to_be_visible()
    page.fill("textarea[name=content]", "Name a colour of the rainbow.")
    page.get_by_role("button", name="Send").click()

    banner = page.get_by_role("note")
    expect(banner).to_contain_text("Temporary chat.")
    expect(page.locator(".conversation-head .temporary-tag")).to_have_text("Temporary")
    answer = page.locator('article[data-role="assistant"]').last
    expect(answer).to_have_attribute("data-status", "done", timeout=90_000)
    conversation = Conversation.objects.get(owner=alice)
    assert conversation.is_temporary
    link = page.locator(f'#sidebar [data-conversation-id="{conversation.pk}"]')
    expect(link).to_have_count(0)

    # Its tokens count in usage, as any answer's (usage keeps no text).
    stored = Message.objects.get(conversation=conversation, role="assistant")
    record = wait_for(
        lambda: UsageRecord.objects.filter(message_id=stored.pk).first(), message="usage"
    )
    assert record.user == alice and record.completion_tokens == stored.completion_tokens > 0
    assert record.prompt_tokens == stored.prompt_tokens > 0

    # Not found by search, not in the export (another tab; the chat's own stays open).
    other = context.new_page()
    errors += _watch_errors(other)
    other.goto(f"{asgi_server}/search/?q=rainbow")
    expect(other.get_by_role("status")).to_have_text("0 conversations found.")
    exported = json.loads(other.request.get(f"{asgi_server}/export.json").text())
    assert exported["conversations"] == []
    conversation.refresh_from_db()
    assert (conversation.open_tabs, conversation.left_at) == (1, None)
    other.close()

    # A reload ends it: gone at once, and the page says what happened; its usage stays.
    page.reload()
    expect(page).to_have_url(f"{asgi_server}/?ended=temporary")
    expect(page.locator("[data-temporary-ended]")).to_contain_text("ended")
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(pk=stored.pk).exists()
    assert UsageRecord.objects.filter(message_id=stored.pk).exists()
    expect(page.locator("#sidebar")).to_contain_text("No conversations yet.")
    assert errors == []

    # A tab that closes ends its temporary chat too (housekeeping, after the grace, if
    # the tab could not say so).
    closing = Conversation.objects.create(
        owner=alice, model=bundled_model, source=Conversation.Source.TEMPORARY
    )
    page.goto(f"{asgi_server}/c/{closing.pk}/")
    expect(page.get_by_role("note")).to_contain_text("Temporary chat.")
    wait_for(lambda: Conversation.objects.get(pk=closing.pk).open_tabs == 1, message="its socket")
    context.close()
    # Within seconds by this test's housekeeping (grace 1 s); the session's own (grace
    # 60 s) takes the same job from the queue about every other run, hence the timeout.
    wait_for(
        lambda: not Conversation.objects.filter(pk=closing.pk).exists(),
        timeout=90,
        message="the temporary chat of a closed tab to be deleted",
    )
