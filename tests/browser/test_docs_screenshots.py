"""Screenshots for docs/using.md of the chat's newer states, each in light, dark and on a
phone: folders in the sidebar, a temporary chat, the saved prompts list (`/`), an answer
waiting for a free slot, and 👍/👎 with a comment. Each checks the state it shows is
there and that the page logged no console error."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_conversation_settings import FakeWorkers
from tests.browser.test_rendering import DESKTOP, PHONE, conversation_with, open_as
from tests.browser.test_sidebar_search import docs_screenshot, history_for
from tests.browser.test_waiting import _busy_default, _recent_answers
from tests.streams import make_user
from webui.chat import folders, saved_prompts, services
from webui.chat.models import Conversation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

VARIANTS = [("light", DESKTOP, "light"), ("dark", DESKTOP, "dark"), ("phone", PHONE, "light")]


def _shoot(browser, base_url, username, path, name, show, variants=VARIANTS):
    """Open `path` as `username` in each variant, let `show(page, phone)` bring the state
    up, and save the screenshot as docs/screenshots/<name>-<variant>.png."""
    for variant, viewport, scheme in variants:
        context, page = open_as(browser, base_url, username, path, viewport, scheme)
        try:
            show(page, variant == "phone")
            page.wait_for_timeout(300)  # transitions settle
            docs_screenshot(page, f"{name}-{variant}")
            assert page.errors == [], (name, variant, page.errors)
        finally:
            context.close()


def test_folders_in_the_sidebar(browser, asgi_server, bundled_model):
    alice = make_user("alice")
    made = {c.title: c for c in history_for(alice, 12)}
    work = folders.folder_create(owner=alice, name="Work")
    home = folders.folder_create(owner=alice, name="Home")
    trips = folders.folder_create(owner=alice, name="Trips")
    filing = {
        work: ["Quarterly budget summary", "Fix the flaky CI job", "SQL window functions"],
        home: ["Sourdough starter schedule", "Name ideas for the cat"],
        trips: ["Trip plan: Lisbon"],
    }
    for folder, titles in filing.items():
        for title in titles:
            folders.conversation_file(
                user=alice, conversation_id=made[title].pk, folder_id=folder.pk
            )
    folders.folder_collapse(folder=trips, collapsed=True)
    current = made["Fix the flaky CI job"]
    Conversation.objects.filter(pk=current.pk).update(model=bundled_model)

    def show(page, phone):
        if phone:
            page.locator("#sidebar-toggle").click()
        sidebar = page.locator("#sidebar")
        expect(sidebar.get_by_role("region", name="Folder Work")).to_contain_text("SQL window")
        expect(sidebar.get_by_role("region", name="Folder Trips")).not_to_contain_text(
            "Lisbon", use_inner_text=True
        )

    _shoot(browser, asgi_server, "alice", current.get_absolute_url(), "folders", show)


def test_a_temporary_chat(browser, asgi_server, bundled_model):
    alice = make_user("alice")
    history_for(alice, 6)
    # One chat per variant: a temporary chat ends with the tab that showed it.
    for variant in VARIANTS:
        conversation = conversation_with(
            alice,
            bundled_model,
            "Try a **lentil curry**: onion, garlic, ginger, red lentils, a tin of tomatoes and "
            "coconut milk, 25 minutes.",
            "What can I cook with lentils tonight?",
        )
        Conversation.objects.filter(pk=conversation.pk).update(source=Conversation.Source.TEMPORARY)

        def show(page, phone, pk=conversation.pk):
            expect(page.get_by_role("note")).to_contain_text("Temporary chat.")
            expect(page.locator(f'#sidebar [data-conversation-id="{pk}"]')).to_have_count(0)

        url = conversation.get_absolute_url()
        _shoot(browser, asgi_server, "alice", url, "temporary-chat", show, [variant])


def test_the_saved_prompts_list(browser, asgi_server, bundled_model):
    alice = make_user("alice")
    history_for(alice, 6)
    saved_prompts.prompt_create(owner=alice, title="Translate", text="Translate into {{language}}:")
    saved_prompts.prompt_create(owner=alice, title="Summarise", text="Summarise briefly.")
    saved_prompts.prompt_create(
        owner=alice, title="Explain simply", text="Explain {{thing}} to a {{reader}}."
    )

    def show(page, phone):
        page.locator("#composer-input").press("/")
        menu = page.get_by_role("listbox", name="Saved prompts")
        expect(menu.get_by_role("option")).to_have_count(3)

    _shoot(browser, asgi_server, "alice", "/", "saved-prompts", show)


def test_an_answer_waiting_for_a_free_slot(browser, asgi_server, bundled_model):
    busy = _busy_default(bundled_model, "busy-model", "Busy model")
    workers = FakeWorkers()
    try:
        workers.set(busy.slug, "busy", active=[1])
        _recent_answers(busy, 20, 30, 40)
        bob = make_user("bob")
        services.message_send(
            conversation=Conversation.objects.create(owner=bob, model=busy), content="First"
        )
        make_user("alice")

        def show(page, phone):
            # Each variant waits behind the same line: Bob's answer and the one written.
            Conversation.objects.filter(owner__username="alice").delete()
            page.fill("textarea[name=content]", "Can you check my cover letter?")
            page.get_by_role("button", name="Send").click()
            state = page.locator('article[data-role="assistant"]').last.locator(".state")
            expect(state).to_have_text(
                re.compile(r"^Waiting for a free slot: 1 ahead of you, about \d+ s$")
            )

        _shoot(browser, asgi_server, "alice", "/", "waiting", show)
    finally:
        workers.stop()


def test_thumbs_up_with_a_comment(browser, asgi_server, bundled_model):
    alice = make_user("alice")
    conversation = conversation_with(
        alice,
        bundled_model,
        "Nine minutes for a hard-boiled egg, six and a half for a soft one.",
        "How long do I boil an egg?",
    )

    def show(page, phone):
        answer = page.locator('article[data-role="assistant"]')
        up = answer.get_by_role("button", name="Good answer")
        if up.get_attribute("aria-pressed") != "true":
            up.click()
        expect(up).to_have_attribute("aria-pressed", "true")
        answer.get_by_text("Add a comment").click()
        answer.get_by_label("What was good or wrong?").fill("Right, and short.")

    _shoot(browser, asgi_server, "alice", conversation.get_absolute_url(), "feedback", show)
