"""👍/👎 in the browser: a press is stored and stays pressed after a reload, a second press
takes it back, the keyboard reaches it, and a comment is saved."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_rendering import conversation_with
from tests.streams import make_user
from webui.chat.models import AnswerFeedback

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_thumbs_up_stays_pressed_after_a_reload_and_keeps_its_comment(
    page, asgi_server, bundled_model
):
    alice = make_user("alice")
    conversation = conversation_with(alice, bundled_model, "Nine minutes.", "Boil an egg?")
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}{conversation.get_absolute_url()}")
    answer = page.locator('article[data-role="assistant"]')
    up = answer.get_by_role("button", name="Good answer")
    expect(up).to_have_attribute("aria-pressed", "false")
    # As when the socket drew the answer (no request, so no token in the form): the
    # token comes from the cookie.
    page.evaluate(
        "document.querySelectorAll('form.feedback [name=csrfmiddlewaretoken]')"
        ".forEach(function (input) { input.remove(); })"
    )
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(up).to_be_focused()  # the swap keeps the keyboard where it was

    page.reload()
    up = answer.get_by_role("button", name="Good answer")
    expect(up).to_have_attribute("aria-pressed", "true")
    stored = AnswerFeedback.objects.get()
    assert (stored.rating, stored.owner, stored.model) == ("up", alice, bundled_model)

    answer.get_by_text("Add a comment").click()
    answer.get_by_label("What was good or wrong?").fill("Right, and short.")
    answer.get_by_role("button", name="Save comment").click()
    expect(answer.get_by_role("status")).to_have_text("Saved")
    assert AnswerFeedback.objects.get().comment == "Right, and short."

    # From the keyboard: Tab to 👎 and press it; 👍 is released.
    down = answer.get_by_role("button", name="Bad answer")
    answer.get_by_role("button", name="Good answer").focus()
    page.keyboard.press("Tab")
    expect(down).to_be_focused()
    page.keyboard.press("Enter")
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(answer.get_by_role("button", name="Good answer")).to_have_attribute(
        "aria-pressed", "false"
    )
    # A second press takes it back.
    down.click()
    expect(down).to_have_attribute("aria-pressed", "false")
    expect(answer.locator("[data-feedback-comment]")).to_have_count(0)
    assert not AnswerFeedback.objects.exists()
    assert errors == []
