"""The sidebar by day with paging, arranging a conversation, searching, importing."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.environment import ROOT
from tests.streams import make_user
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

SCREENSHOTS = ROOT / "docs" / "screenshots"
TITLES = [
    "Quarterly budget summary",
    "Fix the flaky CI job",
    "Regex for ISO dates",
    "Draft email to the landlord",
    "Explain Rust lifetimes",
    "Sourdough starter schedule",
    "SQL window functions",
    "Translate the safety notice",
    "Name ideas for the cat",
    "Kubernetes vs Nomad",
    "Unit tests for the parser",
    "Trip plan: Lisbon",
]


def docs_screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def history_for(user, count: int) -> list[Conversation]:
    """Conversations spread over the last weeks, two of them pinned."""
    now = timezone.localtime()
    # Anchored on midnight, so that a run just after midnight still has a "Today".
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    made = []
    for i in range(count):
        title = TITLES[i % len(TITLES)] + ("" if i < len(TITLES) else f" ({i})")
        conversation = Conversation.objects.create(owner=user, title=title, pinned=i in (3, 9))
        Message.objects.create(conversation=conversation, role="user", content=f"About {title}")
        group = min(i // 3, 3)
        if group == 0:  # today: between midnight and now, newest first
            updated = now - (now - midnight) * i / 100
        else:
            back = [timedelta(hours=12), timedelta(days=3), timedelta(days=40)][group - 1]
            updated = midnight - back - timedelta(minutes=i)
        Conversation.objects.filter(pk=conversation.pk).update(updated_at=updated)
        made.append(conversation)
    return made


def test_sidebar_groups_by_day_and_loads_more_on_scroll(browser, page, asgi_server):
    alice = make_user("alice")
    history_for(alice, 64)
    log_in(page, asgi_server, "alice")
    headings = page.locator(".sidebar-group")
    expect(headings).to_have_text(["Pinned", "Today", "Yesterday", "Previous 7 days", "Older"])
    links = page.locator(".conversation-list [data-conversation-id]")
    expect(links).to_have_count(50)
    expect(
        page.locator(".sidebar-group").first.locator("xpath=following-sibling::a[1]")
    ).to_have_text("Draft email to the landlord")
    docs_screenshot(page, "sidebar-desktop")

    page.locator(".sidebar-more").scroll_into_view_if_needed()
    expect(links).to_have_count(64)
    expect(page.locator(".sidebar-more")).to_have_count(0)
    expect(headings).to_have_count(5)  # the "Older" group continued, no second heading

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        small = phone.new_page()
        log_in(small, asgi_server, "alice")
        # On a phone the sidebar is a drawer, opened by its toggle.
        small.get_by_role("button", name="Conversations").click()
        expect(small.locator(".sidebar-group").first).to_be_visible()
        small.wait_for_timeout(400)  # the drawer's slide-in, for the picture
        docs_screenshot(small, "sidebar-phone")
    finally:
        phone.close()


def test_rename_pin_archive_and_delete(page, asgi_server):
    alice = make_user("alice")
    [conversation] = history_for(alice, 1)
    log_in(page, asgi_server, "alice")
    link = page.locator(f'.conversation-list [data-conversation-id="{conversation.pk}"]')
    link.click()
    page.locator("summary", has_text="Options").click()
    page.fill("input[name=title]", "Budget for Q3")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator(".conversation-head h1")).to_have_text("Budget for Q3")
    expect(link).to_have_text("Budget for Q3")

    page.locator("summary", has_text="Options").click()
    page.get_by_role("button", name="Pin", exact=True).click()
    expect(page.locator(".sidebar-group").first).to_have_text("Pinned")

    page.locator("summary", has_text="Options").click()
    page.get_by_role("button", name="Archive", exact=True).click()
    expect(link).to_have_count(0)
    page.get_by_role("link", name="Archived", exact=True).click()
    expect(link).to_be_visible()

    link.click()
    page.locator("summary", has_text="Options").click()
    page.get_by_role("link", name="Delete…").click()
    dialog = page.locator("dialog#delete-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.locator("summary", has_text="Options").click()
    page.get_by_role("link", name="Delete…").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("h1")).to_have_text("What can I help with?")
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


def test_search_marks_the_words_found(browser, page, asgi_server):
    alice = make_user("alice")
    history_for(alice, 12)
    egg = Conversation.objects.create(owner=alice, title="Breakfast questions")
    Message.objects.create(conversation=egg, role="user", content="How long to boil an <egg>?")
    Message.objects.create(
        conversation=egg, role="assistant", content="Boil a large egg for nine minutes."
    )
    theirs = Conversation.objects.create(owner=make_user("bob"), title="Bob's egg recipes")
    log_in(page, asgi_server, "alice")
    page.fill("#sidebar-search-input", "boil egg")
    page.keyboard.press("Enter")
    results = page.locator(".search-result")
    expect(results).to_have_count(1)
    expect(results.locator("mark")).to_have_text(["boil", "egg"])
    expect(results.locator(".snippet")).to_contain_text("How long to boil an <egg>?")
    expect(page.locator(f'[data-conversation-id="{theirs.pk}"]')).to_have_count(0)
    docs_screenshot(page, "search")

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        small = phone.new_page()
        log_in(small, asgi_server, "alice")
        small.goto(f"{asgi_server}/search/?q=egg")
        expect(small.locator(".search-result")).to_have_count(1)
        docs_screenshot(small, "search-phone")
    finally:
        phone.close()


def test_export_then_import_on_the_import_page(page, asgi_server, tmp_path):
    alice = make_user("alice")
    history_for(alice, 2)
    log_in(page, asgi_server, "alice")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export all").click()
    exported = tmp_path / download.value.suggested_filename
    download.value.save_as(exported)
    assert len(json.loads(exported.read_text())["conversations"]) == 2

    page.get_by_role("link", name="Import").click()
    page.set_input_files("input[name=file]", exported)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_contain_text("Imported 2 conversations")
    assert Conversation.objects.filter(owner=alice).count() == 4

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    page.set_input_files("input[name=file]", bad)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_contain_text("This file is not JSON.")
    assert Conversation.objects.filter(owner=alice).count() == 4
