"""Two browsers signed in as one member: "Sign out everywhere else" in one ends the other's
page and closes its socket."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_sidebar_search import docs_screenshot
from tests.streams import make_user
from webui.chat.models import Conversation
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "pw-alice-12345")
    page.click("button[type=submit]")
    expect(page.locator("textarea[name=content]")).to_be_visible()


def test_sign_out_everywhere_else_kills_the_other_page_and_socket(browser, asgi_server):
    alice = make_user("alice")
    model = LLMModel.objects.create(
        name="Sessions idle", slug="sessions-idle", path=bundled_model_path(), is_default=True
    )
    conversation = Conversation.objects.create(owner=alice, model=model)
    desk_context, phone_context = browser.new_context(), browser.new_context()
    try:
        desk, phone = desk_context.new_page(), phone_context.new_page()
        errors: list[str] = []
        desk.on("console", lambda m: m.type == "error" and errors.append(m.text))
        _log_in(desk, asgi_server)
        _log_in(phone, asgi_server)

        phone.add_init_script(
            "document.addEventListener('htmx:wsOpen', () => { window.wsOpen = 1; })"
        )
        with phone.expect_websocket() as opened:
            phone.goto(f"{asgi_server}/c/{conversation.pk}/")
        socket, closed = opened.value, []
        socket.on("close", lambda _: closed.append(True))
        phone.wait_for_function("() => window.wsOpen === 1")  # a function: CSP forbids eval

        desk.goto(f"{asgi_server}/accounts/sessions/")
        expect(desk.locator("tr[data-session-id]")).to_have_count(2)
        expect(desk.locator("tr[data-current-session]")).to_contain_text("now (this browser)")
        docs_screenshot(desk, "sessions")
        desk.click("[data-sign-out-others]")
        desk.click("#confirm-dialog [data-confirm-ok]")
        expect(desk.locator("tr[data-session-id]")).to_have_count(1)

        # It closed when the session ended (before the desk's page came back, maybe).
        expect(phone.locator("#composer-error")).to_contain_text("signed out", timeout=10_000)
        assert closed == [True]
        phone.goto(f"{asgi_server}/c/{conversation.pk}/")
        expect(phone).to_have_url(f"{asgi_server}/accounts/login/?next=/c/{conversation.pk}/")
        # The desk goes on.
        desk.goto(f"{asgi_server}/c/{conversation.pk}/")
        expect(desk.locator("textarea[name=content]")).to_be_visible()
        assert errors == []
    finally:
        desk_context.close()
        phone_context.close()
