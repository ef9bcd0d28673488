"""Automatic titles in headless Chromium, with a real worker and the real model: the title
comes after the first answer is done, into the header, the sidebar and the tab's title
without a reload; a rename made before it comes wins."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.conftest import model_of_its_own, wait_for
from tests.streams import make_user
from webui.chat import services, titles
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]

# Runs before the page's own scripts: notes when the answer's first text, its end and the
# new title appear, on the page's clock (the socket applies frames in the order they came).
TIMELINE = """
window.__timeline = {};
new MutationObserver(function () {
  var seen = window.__timeline, now = performance.now();
  var head = document.getElementById("conversation-title");
  var text = document.querySelector('article[data-role="assistant"] .message-body');
  var done = document.querySelector('article[data-role="assistant"][data-status="done"]');
  if (head && seen.first === undefined) seen.first = head.textContent;
  if (text && text.textContent.trim() && !seen.text) seen.text = now;
  if (done && !seen.done) seen.done = now;
  if (head && seen.first !== undefined && head.textContent !== seen.first && !seen.titled)
    seen.titled = now;
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""


@pytest.fixture
def titled_model(bundled_model, monkeypatch):
    """A model of its own, the default, whose workers (started after this) write titles."""
    monkeypatch.setenv("HOMEFIRE_AUTO_TITLES", "true")
    model = model_of_its_own(bundled_model, "titles", max_tokens=48, context_size=2048)
    bundled_model.is_default = False
    bundled_model.save()
    model.is_default = True
    model.save()
    return model


def _console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_the_title_comes_after_the_first_answer_without_a_reload(
    page, asgi_server, start_worker, titled_model
):
    start_worker(titled_model.slug)
    errors = _console_errors(page)
    page.add_init_script(TIMELINE)
    make_user("alice")
    log_in(page, asgi_server, "alice")
    question = "How do lighthouses guide ships at night?"
    page.fill("textarea[name=content]", question)
    page.get_by_role("button", name="Send").click()

    answer = page.locator('article[data-role="assistant"]').last
    expect(answer).to_have_attribute("data-status", "done", timeout=180_000)
    conversation = Conversation.objects.get(owner__username="alice")
    head = page.locator("#conversation-title")
    expect(head).not_to_have_text(question, timeout=180_000)

    conversation.refresh_from_db()
    title = conversation.title
    assert title == titles.cleaned(title) and 0 < len(title.split()) <= titles.MAX_WORDS
    expect(head).to_have_text(title)
    link = page.locator(f'.conversation-link[data-conversation-id="{conversation.pk}"]')
    expect(link).to_have_text(title)
    expect(page).to_have_title(f"{title} · Homefire")
    assert page.locator("#rename-title").input_value() == title

    # The title is asked for only once the answer is stored done: the answer's text and
    # end reached the page before the title did.
    timeline = page.evaluate("window.__timeline")
    assert timeline["first"] == question
    assert timeline["text"] <= timeline["done"] < timeline["titled"]
    stored = Message.objects.get(conversation=conversation, role="assistant")
    assert stored.status == "done" and stored.ttft_ms is not None

    page.reload()
    expect(page.locator("#conversation-title")).to_have_text(title)
    assert errors == []


def test_a_rename_made_before_the_title_comes_wins(page, asgi_server, start_worker, titled_model):
    errors = _console_errors(page)
    alice = make_user("alice")
    # Queued while no worker serves its model: the rename surely comes first.
    renamed = services.conversation_start(
        owner=alice, content="How do lighthouses guide ships at night?", model=titled_model
    )
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}{renamed.get_absolute_url()}")
    page.locator(".conversation-menu summary").click()
    page.fill("#rename-title", "Night shifts")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator("#conversation-title")).to_have_text("Night shifts")

    start_worker(titled_model.slug)
    answer = page.locator('article[data-role="assistant"]').last
    expect(answer).to_have_attribute("data-status", "done", timeout=180_000)
    # The renamed conversation's title task was queued before this conversation's answer:
    # once this one has its title, the other's task has run.
    other = services.conversation_start(
        owner=alice, content="What do bees do in winter?", model=titled_model
    )
    wait_for(
        lambda: Conversation.objects.get(pk=other.pk).title != other.title,
        timeout=240,
        message="the second conversation's title",
    )
    assert Conversation.objects.get(pk=renamed.pk).title == "Night shifts"
    expect(page.locator("#conversation-title")).to_have_text("Night shifts")
    expect(page.locator(f'.conversation-link[data-conversation-id="{renamed.pk}"]')).to_have_text(
        "Night shifts"
    )
    assert errors == []
