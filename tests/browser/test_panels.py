"""On a phone every panel closes three ways and gives focus back to its button."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_rendering import PHONE, conversation_with, open_as
from tests.browser.test_sidebar_search import docs_screenshot
from tests.streams import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PANELS = [
    ("Settings", "#conversation-settings", ".settings-form", "Close settings"),
    ("Options", ".conversation-menu", ".menu-panel", "Close options"),
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_panels_close_with_their_button_escape_and_a_tap_outside(
    browser, asgi_server, bundled_model, scheme
):
    alice = make_user("alice")
    conversation = conversation_with(alice, bundled_model, "Some **answer**.")
    context, page = open_as(
        browser, asgi_server, "alice", conversation.get_absolute_url(), PHONE, scheme
    )
    try:
        for name, details, panel, close in PANELS:
            opener = page.locator(f"{details} > summary")
            body = page.locator(f"{details} {panel}")

            opener.click()
            expect(body).to_be_visible()
            if scheme == "dark" or name == "Settings":
                docs_screenshot(page, f"{name.lower()}-panel-phone-{scheme}")
            page.get_by_role("button", name=close).click()
            expect(body).to_be_hidden()
            expect(opener).to_be_focused()

            opener.click()
            expect(body).to_be_visible()
            page.keyboard.press("Escape")
            expect(body).to_be_hidden()
            expect(opener).to_be_focused()

            opener.click()
            expect(body).to_be_visible()
            page.locator(".conversation-head h1").click()  # beside the panel
            expect(body).to_be_hidden()
            expect(opener).to_be_focused()

        # The drawer: its close button and a tap beside it, as Escape, refocus the toggle.
        toggle = page.locator("#sidebar-toggle")
        sidebar = page.locator("#sidebar")
        toggle.click()
        expect(sidebar).to_be_visible()
        page.get_by_role("button", name="Close conversations").click()
        expect(sidebar).to_be_hidden()
        expect(toggle).to_be_focused()
        toggle.click()
        expect(sidebar).to_be_visible()
        page.locator(".drawer-backdrop").click(position={"x": 370, "y": 400})
        expect(sidebar).to_be_hidden()
        expect(toggle).to_be_focused()

        # A confirmation dialog closes on a tap on its backdrop.
        page.locator(".conversation-menu > summary").click()
        page.get_by_role("link", name="Delete…").click()
        dialog = page.locator("#delete-dialog")
        expect(dialog).to_be_visible()
        page.mouse.click(10, 10)
        expect(dialog).to_be_hidden()
        assert page.errors == []
    finally:
        context.close()
