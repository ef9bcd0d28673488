"""On a phone (390×844) the sidebar is a drawer; themes follow the system; focus shows."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_sidebar_search import docs_screenshot, history_for
from tests.streams import make_user
from webui.chat.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = {"width": 390, "height": 844}


def _long_conversation(user, bundled_model):
    [conversation] = history_for(user, 1)
    conversation.model = bundled_model
    conversation.save(update_fields=["model"])
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        model=bundled_model,
        prompt_tokens=350,
        completion_tokens=120,
        content="Here is a plan:\n\n1. **Collect** the receipts.\n"
        "2. Sum them per category.\n\n```python\ntotal = sum(r.amount for r in receipts)\n```",
    )
    return conversation


def test_the_sidebar_is_a_drawer_with_a_toggle(browser, asgi_server, bundled_model):
    alice = make_user("alice")
    history_for(alice, 11)
    conversation = _long_conversation(alice, bundled_model)
    context = browser.new_context(viewport=PHONE, color_scheme="light")
    try:
        page = context.new_page()
        log_in(page, asgi_server, "alice")
        page.goto(f"{asgi_server}/c/{conversation.pk}/")
        sidebar, toggle = page.locator("#sidebar"), page.locator("#sidebar-toggle")
        expect(sidebar).to_be_hidden()
        expect(toggle).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(toggle).to_have_attribute("aria-controls", "sidebar")
        expect(page.locator("#composer-input")).to_be_visible()
        expect(page.locator("#context-meter")).to_be_visible()
        # Nothing sticks out sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        docs_screenshot(page, "conversation-phone")

        toggle.click()
        expect(sidebar).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#sidebar .new-chat")).to_be_focused()
        assert page.evaluate("document.querySelector('.main').inert")  # behind the drawer
        expect(page.locator(".sidebar-group").first).to_be_visible()
        page.wait_for_timeout(400)  # the drawer's slide-in, for the picture
        docs_screenshot(page, "sidebar-drawer-phone")

        page.keyboard.press("Escape")
        expect(sidebar).to_be_hidden()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(toggle).to_be_focused()

        toggle.click()
        page.locator(".drawer-backdrop").click(position={"x": 370, "y": 400})
        expect(sidebar).to_be_hidden()

        toggle.click()
        page.locator("#conversation-list a", has_text="Quarterly budget summary").first.click()
        expect(page.locator(".conversation-head h1")).to_have_text("Quarterly budget summary")
        expect(page.locator("#sidebar")).to_be_hidden()

        # The settings panel fits the screen.
        page.get_by_text("Settings", exact=True).click()
        box = page.locator(".settings-form").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        docs_screenshot(page, "settings-phone")
    finally:
        context.close()


def test_themes_follow_the_system_and_focus_is_visible(browser, asgi_server, bundled_model):
    alice = make_user("alice")
    conversation = _long_conversation(alice, bundled_model)
    backgrounds = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
        try:
            page = context.new_page()
            log_in(page, asgi_server, "alice")
            page.goto(f"{asgi_server}/c/{conversation.pk}/")
            backgrounds[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
            if scheme == "dark":
                docs_screenshot(page, "conversation-dark")
                page.locator("#composer-input").focus()
                page.keyboard.press("Shift+Tab")  # back to the last control before the composer
                outline = page.evaluate(
                    "(() => { const s = getComputedStyle(document.activeElement);"
                    " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
                )
                assert outline[0] != "none" and outline[1] >= 2, outline
        finally:
            context.close()
    assert backgrounds["light"] != backgrounds["dark"]
    assert backgrounds["dark"] == "rgb(23, 23, 26)"


def test_controls_have_names_for_screen_readers(page, asgi_server, bundled_model):
    alice = make_user("alice")
    conversation = _long_conversation(alice, bundled_model)
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}/c/{conversation.pk}/")
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll(
              'input:not([type=hidden]), textarea, select, button')]
            .filter(el => !el.closest('template'))
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby') && !el.textContent.trim())
            .map(el => el.outerHTML.slice(0, 120))"""
    )
    assert unnamed == []
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    expect(page.get_by_role("region", name="Conversations")).to_have_count(0)
    expect(page.get_by_role("complementary", name="Conversations")).to_have_count(1)
