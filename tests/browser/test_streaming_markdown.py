"""An answer reads as Markdown while it streams: its code block is a coloured code block
before the answer is done, and the final render replaces it without a console error."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_rendering import open_as
from tests.browser.test_sidebar_search import docs_screenshot
from tests.streams import make_user
from webui.chat.models import Conversation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]

# Greedy, SmolLM2-135M answers this with a fenced Python block at once, then prose and
# more code: a few hundred tokens of Markdown.
QUESTION = "Write a Python function that adds two numbers."
STREAMING = 'article[data-role="assistant"][data-status="streaming"] .message-body.streaming'


def test_markdown_shows_while_the_answer_streams(browser, asgi_server, live_worker, bundled_model):
    alice = make_user("alice")
    conversation = Conversation.objects.create(
        owner=alice, title="Adding", model=bundled_model, temperature=0.0, max_tokens=400
    )
    context, page = open_as(browser, asgi_server, "alice", conversation.get_absolute_url())
    try:
        page.fill("textarea[name=content]", QUESTION)
        page.get_by_role("button", name="Send").click()
        # Taken in the page, in one go: the answer still streams, and its body holds a
        # code block the server coloured (Pygments' classes), a line or more long.
        seen = page.wait_for_function(
            """(streaming) => {
              const body = document.querySelector(streaming);
              const code = body && body.querySelector("pre code.language-python");
              const lines = code && code.textContent.trim().split("\\n").length;
              if (!code || !code.querySelector(".k") || lines < 2) return null;
              // What the server rendered: without the raw text and the text after it.
              const rendered = body.cloneNode(true);
              rendered.querySelectorAll(".stream-text, .stream-pending").forEach((e) => e.remove());
              const raw = body.querySelector(".stream-text").textContent;
              return {raw: raw, shown: rendered.textContent};
            }""",
            arg=STREAMING,
            timeout=180_000,
            polling="raf",
        ).json_value()
        assert "```" not in seen["shown"], seen  # the fence is a code block, not text
        assert "def" in seen["shown"] and seen["raw"].startswith("```python"), seen
        # For the docs: later, with the code block done and prose growing after it.
        page.wait_for_function(
            """(streaming) => {
              const body = document.querySelector(streaming);
              const prose = body && body.querySelector(".stream-tail p");
              return !body || (body.querySelector(".stream-blocks pre") && prose &&
                prose.textContent.length > 80);
            }""",
            arg=STREAMING,
            timeout=240_000,
            polling="raf",
        )
        if page.locator(STREAMING).count():
            docs_screenshot(page, "streaming-markdown-light")
            page.emulate_media(color_scheme="dark")
            docs_screenshot(page, "streaming-markdown-dark")
            page.emulate_media(color_scheme="light")

        answer = page.locator('article[data-role="assistant"]').last
        expect(answer).to_have_attribute("data-status", "done", timeout=240_000)
        # The final render is the server's whole-answer render, as before.
        expect(
            answer.locator(".message-body.markdown .code-block pre code .k").first
        ).to_be_visible()
        expect(answer.locator(".stream-tail, .stream-text, .cursor")).to_have_count(0)
        page.wait_for_timeout(300)
        assert page.errors == [], page.errors
    finally:
        context.close()
