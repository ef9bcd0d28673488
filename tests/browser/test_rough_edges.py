"""The small things: copying a new API key, asking before revoking, no key twice on a
reload, and an Edit button that gives way to its edit box."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_rendering import conversation_with
from tests.browser.test_sidebar_search import docs_screenshot
from tests.streams import make_user
from webui.api.models import ApiKey

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_api_keys_copy_confirm_revoke_and_survive_a_reload(page, asgi_server):
    alice = make_user("alice")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=asgi_server)
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}/accounts/keys/")
    page.fill("main input[name=name]", "laptop")
    page.get_by_role("button", name="Create key").click()
    shown = page.locator("[data-new-key]")
    key = shown.inner_text()
    assert key.startswith("hf_")
    page.get_by_role("button", name="Copy the new key").click()
    assert page.evaluate("navigator.clipboard.readText()") == key
    docs_screenshot(page, "api-keys")

    page.reload()  # after Post/Redirect/Get: no second key, and the key is not shown again
    expect(page.locator("[data-new-key]")).to_have_count(0)
    assert ApiKey.objects.filter(user=alice).count() == 1

    row = page.locator("tr", has_text="laptop")
    row.get_by_role("button", name="Revoke").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Revoke the key “laptop”?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert ApiKey.objects.get(user=alice).revoked_at is None

    row.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Revoke").click()
    expect(page.locator("tr", has_text="laptop")).to_contain_text("revoked")
    assert ApiKey.objects.get(user=alice).revoked_at is not None
    assert errors == []


def test_the_edit_button_gives_way_to_the_edit_box(page, asgi_server, bundled_model):
    alice = make_user("alice")
    conversation = conversation_with(alice, bundled_model, "An answer.", "A question")
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}{conversation.get_absolute_url()}")
    question = page.locator('article[data-role="user"]')
    edit = question.get_by_role("button", name="Edit")
    edit.click()
    expect(question.locator("textarea[name=content]")).to_be_visible()
    expect(edit).to_be_hidden()
    question.get_by_role("button", name="Cancel").click()
    expect(edit).to_be_visible()
    expect(edit).to_be_focused()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_dead_link_shows_the_sites_own_not_found_page(browser, asgi_server, scheme):
    make_user("alice")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    try:
        page = context.new_page()
        errors = []
        page.on(
            "console", lambda m: m.type == "error" and "404" not in m.text and errors.append(m.text)
        )
        log_in(page, asgi_server, "alice")
        response = page.goto(f"{asgi_server}/c/999999/")
        assert response.status == 404
        expect(page.get_by_role("heading", name="Nothing here")).to_be_visible()
        expect(page.locator("link[rel=stylesheet]").first).to_have_attribute(
            "href", "/static/css/app.css"
        )
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != (
            "rgba(0, 0, 0, 0)"
        )
        page.get_by_role("link", name="Back to your conversations").click()
        expect(page.locator("textarea[name=content]")).to_be_visible()
        if scheme == "dark":
            page.goto(f"{asgi_server}/no/such/page/")
            docs_screenshot(page, "not-found-dark")
        assert errors == []
    finally:
        context.close()
