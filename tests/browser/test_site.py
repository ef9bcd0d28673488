"""The site as a browser and a phone see it: an icon, a web app manifest, a skip link."""

import json
import struct

import pytest
from playwright.sync_api import expect

from tests.browser.test_rendering import PHONE, conversation_with, open_as
from tests.browser.test_sidebar_search import docs_screenshot
from tests.streams import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", body[16:24])


def test_favicon_and_manifest_answer_and_install(page, asgi_server):
    make_user("alice")
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.goto(f"{asgi_server}/accounts/login/")

    favicon = page.request.get(f"{asgi_server}/favicon.ico")
    assert favicon.status == 200
    assert favicon.headers["content-type"] == "image/x-icon"
    assert favicon.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file

    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(f"{asgi_server}{icon}").status == 200
    touch = page.locator("link[rel=apple-touch-icon]").get_attribute("href")
    assert _png_size(page.request.get(f"{asgi_server}{touch}").body()) == (180, 180)

    href = page.locator("link[rel=manifest]").get_attribute("href")
    response = page.request.get(f"{asgi_server}{href}")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.body())
    assert manifest["name"] == "Homefire"
    assert manifest["display"] == "standalone"
    manifest_url = f"{asgi_server}{href}"
    start = page.evaluate(
        "([s, base]) => new URL(s, base).href", [manifest["start_url"], manifest_url]
    )
    assert start == f"{asgi_server}/"
    sizes = {}
    for entry in manifest["icons"]:
        url = page.evaluate("([s, base]) => new URL(s, base).href", [entry["src"], manifest_url])
        body = page.request.get(url)
        assert body.status == 200, url
        if entry["type"] == "image/png":
            sizes[entry["sizes"]] = _png_size(body.body())
    assert sizes == {"192x192": (192, 192), "512x512": (512, 512)}
    assert page.errors == []


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, PHONE])
def test_the_skip_link_is_the_first_stop_and_leads_to_the_messages(
    browser, asgi_server, bundled_model, viewport
):
    alice = make_user("alice")
    conversation = conversation_with(alice, bundled_model, "An answer.")
    context, page = open_as(
        browser, asgi_server, "alice", conversation.get_absolute_url(), viewport
    )
    try:
        skip = page.get_by_role("link", name="Skip to the messages")
        first = page.evaluate(
            """() => [...document.querySelectorAll('a[href], button, input, textarea, select,'
                      + ' summary, [tabindex]')]
                .find(el => el.tabIndex >= 0 && !el.disabled).textContent.trim()"""
        )
        assert first == "Skip to the messages"
        expect(skip).not_to_be_in_viewport()
        skip.focus()
        expect(skip).to_be_in_viewport()
        if viewport is PHONE:
            docs_screenshot(page, "skip-link-phone")
        page.keyboard.press("Enter")
        expect(page.locator("#messages")).to_be_focused()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('#messages') !== null")
        # Pages without messages skip to their content.
        page.goto(f"{asgi_server}/")
        page.get_by_role("link", name="Skip to the content").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#main")).to_be_focused()
        assert page.errors == []
    finally:
        context.close()
