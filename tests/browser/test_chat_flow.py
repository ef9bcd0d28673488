"""A person logs in, asks a question, watches the answer stream, reloads, stops."""

import pytest
from playwright.sync_api import expect

from tests.browsing import screenshot
from tests.streams import make_user
from webui.chat.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}-12345")
    page.click("button[type=submit]")
    expect(page.locator("textarea[name=content]")).to_be_visible()
    # The composer's scripts (deferred) listen once the page has loaded: keys pressed
    # before that reach a bare textarea, which a loaded machine shows.
    page.wait_for_load_state("load")


def test_ask_watch_stream_and_reload(page, asgi_server, live_worker, bundled_model):
    make_user("alice")
    log_in(page, asgi_server, "alice")
    screenshot(page, "new-conversation")

    page.fill("textarea[name=content]", "What is the capital of France?")
    page.get_by_role("button", name="Send").click()

    answer = page.locator('article[data-role="assistant"]').last
    expect(answer).to_have_attribute("data-status", "done", timeout=60_000)
    expect(page.locator('article[data-role="user"]')).to_contain_text("capital of France")
    text = answer.locator(".message-body").inner_text()
    assert text.strip()
    screenshot(page, "conversation")

    stored = Message.objects.get(role="assistant")
    assert stored.status == "done"
    link = page.locator(f'[data-conversation-id="{stored.conversation_id}"]')
    expect(link).to_contain_text("What is the capital of France?")

    page.reload()
    expect(page.locator('article[data-role="assistant"]').last).to_have_attribute(
        "data-status", "done"
    )
    assert page.locator('article[data-role="assistant"] .message-body').inner_text() == text


def test_follow_up_streams_over_the_socket_and_stop_keeps_the_partial(
    page, asgi_server, live_worker, bundled_model
):
    bundled_model.max_tokens = 400
    bundled_model.save()
    make_user("bob")
    log_in(page, asgi_server, "bob")
    page.fill("textarea[name=content]", "Say hello.")
    page.keyboard.press("Enter")
    expect(page.locator('article[data-role="assistant"]').last).to_have_attribute(
        "data-status", "done", timeout=60_000
    )

    page.fill("textarea[name=content]", "Now tell me a very long story about a lighthouse.")
    page.get_by_role("button", name="Send").click()
    answer = page.locator('article[data-role="assistant"]').nth(1)
    expect(answer).to_have_attribute("data-status", "streaming", timeout=30_000)
    expect(answer.locator(".stream-text")).not_to_be_empty(timeout=30_000)
    answer.get_by_role("button", name="Stop").click()
    expect(answer).to_have_attribute("data-status", "stopped", timeout=10_000)

    stored = Message.objects.filter(role="assistant").order_by("id").last()
    assert stored.status == "stopped"
    assert stored.content and stored.completion_tokens < 400
    assert page.locator("textarea[name=content]").input_value() == ""


def test_hostile_text_stays_inert_in_the_browser(page, asgi_server, live_worker, bundled_model):
    make_user("eve")
    log_in(page, asgi_server, "eve")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    page.fill("textarea[name=content]", hostile)
    page.get_by_role("button", name="Send").click()
    expect(page.locator('article[data-role="assistant"]').last).to_have_attribute(
        "data-status", "done", timeout=60_000
    )
    expect(page.locator('article[data-role="user"]')).to_contain_text("<script>alert(2)</script>")
    assert page.locator("article img, article script").count() == 0
    assert dialogs == []
