"""A new conversation's first question: its page comes in the post's answer (htmx), with no
page load while the worker reads the question; the address, the sidebar, the tab's title,
a reload and the Back button behave as after a page load. A refused question stays in the
composer with the reason; a temporary chat still gets a page of its own (its tab's page is
its life)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.streams import make_user
from webui.chat.models import Conversation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]

# A mark on the window: it survives a swap and is gone after a page load.
MARK = "() => { window.samePage = 'yes'; }"
SAME_PAGE = "() => window.samePage === 'yes'"


def test_the_first_question_opens_its_conversation_without_a_page_load(
    page, asgi_server, live_worker, bundled_model
):
    make_user("ivy")
    log_in(page, asgi_server, "ivy")
    page.evaluate(MARK)
    page.fill("textarea[name=content]", "Name one colour of the rainbow.")
    page.get_by_role("button", name="Send").click()

    answer = page.locator('article[data-role="assistant"]').last
    expect(answer).to_have_attribute("data-status", "done", timeout=60_000)
    conversation = Conversation.objects.get(owner__username="ivy")
    expect(page).to_have_url(re.compile(rf"/c/{conversation.pk}/$"))
    assert page.evaluate(SAME_PAGE), "the first question loaded a new page"
    expect(page.locator(f'#sidebar [data-conversation-id="{conversation.pk}"]')).to_be_visible()
    expect(page).to_have_title(re.compile(r"· Homefire$"))
    expect(page.locator("textarea[name=content]")).to_be_focused()
    text = answer.locator(".message-body").inner_text()
    assert text.strip()

    # The conversation's own composer (its socket) takes the next question.
    page.fill("textarea[name=content]", "And another one?")
    page.keyboard.press("Enter")
    expect(page.locator('article[data-role="assistant"]')).to_have_count(2)
    expect(page.locator('article[data-role="assistant"]').last).to_have_attribute(
        "data-status", "done", timeout=60_000
    )
    assert page.evaluate(SAME_PAGE)

    page.reload()
    expect(page.locator('article[data-role="assistant"]')).to_have_count(2)
    assert page.locator('article[data-role="assistant"] .message-body').first.inner_text() == text

    page.go_back()
    expect(page).to_have_url(f"{asgi_server}/")
    expect(page.get_by_role("heading", name="What can I help with?")).to_be_visible()
    expect(page.locator(f'#sidebar [data-conversation-id="{conversation.pk}"]')).to_be_visible()


def test_a_refused_first_question_stays_in_the_composer_with_the_reason(
    page, asgi_server, live_worker, bundled_model
):
    make_user("jay")
    log_in(page, asgi_server, "jay")
    page.evaluate(MARK)
    page.fill("textarea[name=content]", "   ")  # passes `required`; the server refuses it
    page.get_by_role("button", name="Send").click()

    expect(page.locator("#composer-error")).to_contain_text("Type a message first")
    assert page.locator("textarea[name=content]").input_value() == "   "
    expect(page).to_have_url(f"{asgi_server}/")
    assert page.evaluate(SAME_PAGE)
    assert not Conversation.objects.filter(owner__username="jay").exists()

    # The form swapped in with the reason sends as the first one did.
    page.fill("textarea[name=content]", "Say hi.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator('article[data-role="assistant"]').last).to_have_attribute(
        "data-status", "done", timeout=60_000
    )
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))


def test_a_temporary_chat_s_first_question_loads_its_page(
    page, asgi_server, live_worker, bundled_model
):
    make_user("kit")
    log_in(page, asgi_server, "kit")
    page.evaluate(MARK)
    page.check("#temporary-toggle")
    page.fill("textarea[name=content]", "Say hi.")
    page.get_by_role("button", name="Send").click()

    expect(page.locator(".conversation.temporary")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    assert not page.evaluate(SAME_PAGE), "a temporary chat needs its own page load"
    expect(page.locator('article[data-role="assistant"]').last).to_have_attribute(
        "data-status", "done", timeout=60_000
    )


def test_signed_out_meanwhile_the_first_question_leads_to_the_sign_in_page(
    page, asgi_server, live_worker, bundled_model
):
    make_user("lou")
    log_in(page, asgi_server, "lou")
    page.context.clear_cookies(name="sessionid")  # the session ended (expired, or revoked)
    page.fill("textarea[name=content]", "Are you there?")
    page.get_by_role("button", name="Send").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("input[name=username]")).to_be_visible()
    assert not Conversation.objects.filter(owner__username="lou").exists()

    # Every cookie gone (the CSRF token's too): the refusal shows, as the plain form's would.
    log_in(page, asgi_server, "lou")
    page.context.clear_cookies()
    page.fill("textarea[name=content]", "Still there?")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("CSRF", exact=False).first).to_be_visible()
    assert not Conversation.objects.filter(owner__username="lou").exists()
