"""Answers as people read them: coloured code that scrolls on a phone, strikethrough, math."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_flow import log_in
from tests.browser.test_sidebar_search import docs_screenshot
from tests.streams import make_user
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LONG_LINE = "totals = {" + ", ".join(f'"category_{i}": sum_of(receipts, {i})' for i in range(12))
CODE_ANSWER = (
    "Sum the receipts per category:\n\n"
    "```python\n"
    "def per_category(receipts):\n"
    "    # one pass over the receipts\n"
    f"    {LONG_LINE}}}\n"
    "    return totals\n"
    "```\n\nThen print `totals`."
)


def conversation_with(user, model, answer: str, title: str = "Receipts") -> Conversation:
    conversation = Conversation.objects.create(owner=user, title=title, model=model)
    question = Message.objects.create(conversation=conversation, role="user", content=title)
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        parent=question,
        model=model,
        content=answer,
        status="done",
    )
    return conversation


def open_as(browser, base_url, username, path, viewport=DESKTOP, scheme="light"):
    """A fresh context signed in as username on path; console errors gather in page.errors."""
    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and page.errors.append(f"{r.status} {r.url}"))
    log_in(page, base_url, username)
    page.goto(f"{base_url}{path}")
    return context, page


def _colours(page) -> dict:
    return page.evaluate(
        """() => {
          const body = document.querySelector('article[data-role="assistant"] .message-body');
          const colour = (el) => getComputedStyle(el).color;
          return {
            keyword: colour(body.querySelector('pre .k')),
            comment: colour(body.querySelector('pre .c1')),
            text: colour(body.querySelector('p')),
          };
        }"""
    )


def test_code_is_coloured_in_light_and_dark(browser, asgi_server, bundled_model):
    alice = make_user("alice")
    conversation = conversation_with(alice, bundled_model, CODE_ANSWER)
    seen = {}
    for scheme in ("light", "dark"):
        context, page = open_as(
            browser, asgi_server, "alice", conversation.get_absolute_url(), scheme=scheme
        )
        try:
            expect(page.locator(".code-block .code-head")).to_contain_text("python")
            seen[scheme] = colours = _colours(page)
            assert colours["keyword"] != colours["text"], colours
            assert colours["comment"] not in (colours["text"], colours["keyword"]), colours
            page.locator("article[data-role=assistant]").screenshot(
                path=docs_screenshot_path(f"code-{scheme}")
            )
            assert page.errors == []
        finally:
            context.close()
    assert seen["light"]["keyword"] != seen["dark"]["keyword"]


def test_a_long_code_line_scrolls_on_a_phone_beside_a_full_width_block(
    browser, asgi_server, bundled_model
):
    alice = make_user("alice")
    conversation = conversation_with(alice, bundled_model, CODE_ANSWER)
    context, page = open_as(
        browser, asgi_server, "alice", conversation.get_absolute_url(), viewport=PHONE
    )
    try:
        copy = page.get_by_role("button", name="Copy code")
        expect(copy).to_be_visible()
        sizes = page.evaluate(
            """() => {
              const pre = document.querySelector('.code-block pre');
              const body = pre.closest('.message-body');
              const button = document.querySelector('.copy-code').getBoundingClientRect();
              const box = pre.getBoundingClientRect();
              return {
                pre: box.width, body: body.clientWidth, buttonBottom: button.bottom,
                preTop: box.top, scroll: pre.scrollWidth, client: pre.clientWidth,
                page: document.documentElement.scrollWidth,
              };
            }"""
        )
        # The code takes the answer's whole width; the button sits above it, not beside.
        assert abs(sizes["pre"] - sizes["body"]) <= 1, sizes
        assert sizes["buttonBottom"] <= sizes["preTop"] + 1, sizes
        # The long line scrolls inside the block instead of widening the page.
        assert sizes["scroll"] > sizes["client"], sizes
        assert sizes["page"] <= PHONE["width"], sizes
        pre = page.locator(".code-block pre")
        pre.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        end = page.evaluate(
            """() => {
              const pre = document.querySelector('.code-block pre');
              const spans = pre.querySelectorAll('span');
              let last = null;
              for (const s of spans) if (s.textContent.includes('}')) last = s;
              return [last.getBoundingClientRect().right, pre.getBoundingClientRect().right];
            }"""
        )
        assert end[0] <= end[1], end  # the line's end can be scrolled into view
        pre.evaluate("el => { el.scrollLeft = 0; }")
        page.locator("article[data-role=assistant]").screenshot(
            path=docs_screenshot_path("code-phone")
        )
        assert page.errors == []
    finally:
        context.close()


def test_strikethrough_shows_struck_through(page, asgi_server, bundled_model):
    alice = make_user("alice")
    conversation = conversation_with(
        alice, bundled_model, "Call ~~`fetch_all()`~~ `fetch_page()` instead.", "Paging"
    )
    log_in(page, asgi_server, "alice")
    page.goto(f"{asgi_server}{conversation.get_absolute_url()}")
    struck = page.locator('article[data-role="assistant"] .message-body s')
    expect(struck).to_have_text("fetch_all()")
    line = struck.evaluate("el => getComputedStyle(el).textDecorationLine")
    assert "line-through" in line
    assert (
        page.locator('article[data-role="assistant"] .message-body')
        .inner_text()
        .startswith("Call fetch_all() fetch_page()")
    )


MATH_ANSWER = (
    "With a thin space, $a\\,b$, and inline \\(x_1 + y_1\\); the area is\n\n"
    "$$\n\\int_0^1 x^2\\,dx = \\frac{1}{3}\n$$\n\n"
    "and a sum \\[\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}\\] or $$\\vec{v} = \\left(\\begin{matrix}"
    "1\\\\2\\\\3\\\\4\\\\5\\end{matrix}\\right)$$, $\\pmb{x}$. "
    "Prices stay text: $5 and $10. Links do not work: $\\href{javascript:alert(1)}{click}$"
    " \\(\\url{https://example.com}\\)."
)


def test_math_is_typeset_from_its_source_without_csp_errors(browser, asgi_server, bundled_model):
    alice = make_user("alice")
    conversation = conversation_with(alice, bundled_model, MATH_ANSWER, "Integrals")
    for scheme, viewport in (("light", DESKTOP), ("dark", DESKTOP), ("dark", PHONE)):
        context, page = open_as(
            browser,
            asgi_server,
            "alice",
            conversation.get_absolute_url(),
            viewport=viewport,
            scheme=scheme,
        )
        try:
            body = page.locator('article[data-role="assistant"] .message-body')
            expect(body.locator(".math-inline .katex")).to_have_count(5)
            expect(body.locator(".math-display .katex-display")).to_have_count(3)
            sources = body.locator("annotation[encoding='application/x-tex']").all_text_contents()
            assert "a\\,b" in sources  # the TeX reached KaTeX whole
            assert "x_1 + y_1" in sources
            assert "\\int_0^1 x^2\\,dx = \\frac{1}{3}" in [s.strip() for s in sources]
            assert "Prices stay text: $5 and $10." in body.inner_text()
            # Untrusted: \href and \url give no link, nothing shows as an error.
            assert body.locator("a").count() == 0
            assert body.locator(".katex-error").count() == 0
            assert page.errors == [], page.errors  # KaTeX's SVG styles pass the CSP
            if viewport is PHONE:
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            else:
                page.locator("article[data-role=assistant]").screenshot(
                    path=docs_screenshot_path(f"math-{scheme}")
                )
        finally:
            context.close()


def docs_screenshot_path(name: str):
    from tests.browser.test_sidebar_search import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


__all__ = ["conversation_with", "docs_screenshot", "open_as"]


@pytest.mark.worker
def test_sending_and_streaming_leave_no_console_error(
    browser, asgi_server, live_worker, bundled_model
):
    make_user("alice")
    context, page = open_as(browser, asgi_server, "alice", "/")
    try:
        page.fill("textarea[name=content]", "Write $x^2$ and a Python hello world.")
        page.get_by_role("button", name="Send").click()
        answer = page.locator('article[data-role="assistant"]').last
        expect(answer).to_have_attribute("data-status", "done", timeout=90_000)
        # A composer grown by hand or by the browser carries a style attribute; htmx
        # copied such attributes onto the fresh composer while settling, which the
        # Content-Security-Policy refused with a console error.
        page.locator("#composer-input").evaluate("el => { el.style.height = '5rem'; }")
        page.fill("textarea[name=content]", "And again, shorter.")
        page.get_by_role("button", name="Send").click()
        expect(page.locator('article[data-role="assistant"]')).to_have_count(2)
        expect(page.locator('article[data-role="assistant"]').last).to_have_attribute(
            "data-status", "done", timeout=90_000
        )
        page.wait_for_timeout(500)
        assert page.errors == [], page.errors
    finally:
        context.close()
