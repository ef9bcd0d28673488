"""Two-factor in Chromium: set up from the QR page's secret, the code after the password,
recovery codes that work once each."""

import base64
import re

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.browser.test_sidebar_search import docs_screenshot
from tests.streams import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _code(secret: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the secret the page gave."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key, drift=steps_ahead).token():06d}"


def _password(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "pw-alice-12345")
    page.click("button[type=submit]")
    expect(page.locator("form[data-two-factor-code]")).to_be_visible()


def _enter(page, code: str) -> None:
    page.fill("input[name=code]", code)
    page.click("form[data-two-factor-code] button[type=submit]")


def _log_out(page) -> None:
    page.click("form[action='/accounts/logout/'] button")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_set_up_sign_in_with_a_code_and_recovery_codes_once_each(page, asgi_server):
    make_user("alice")
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{asgi_server}/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "pw-alice-12345")
    page.click("button[type=submit]")
    expect(page.locator("textarea[name=content]")).to_be_visible()

    page.goto(f"{asgi_server}/accounts/two-factor/")
    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    # The QR code is drawn (a data: SVG that the page's CSP lets in).
    page.wait_for_function("() => document.querySelector('img.qr').naturalWidth > 0")
    docs_screenshot(page, "two-factor-setup")
    page.emulate_media(color_scheme="dark")
    docs_screenshot(page, "two-factor-setup-dark")
    page.emulate_media(color_scheme="light")
    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    page.fill("input[name=code]", _code(secret))
    page.click("form[data-two-factor-setup] button[type=submit]")
    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    page.click("text=I saved them")
    _log_out(page)

    _password(page, asgi_server)
    _enter(page, "000000" if _code(secret, 1) != "000000" else "111111")
    expect(page.locator(".field-errors")).to_contain_text("not right")
    _enter(page, _code(secret, 1))
    expect(page.locator("textarea[name=content]")).to_be_visible()
    _log_out(page)

    _password(page, asgi_server)
    _enter(page, codes[0])
    expect(page.locator("[data-recovery-left]")).to_have_text("9")
    _log_out(page)

    _password(page, asgi_server)
    _enter(page, codes[0])  # used already
    expect(page.locator(".field-errors")).to_contain_text("used already")
    _enter(page, codes[1])
    expect(page.locator("[data-recovery-left]")).to_have_text("8")
    assert errors == []
