"""Signing in with OpenID Connect under attack, in Chromium against the real test provider:
a forged state, a replayed answer, a code carried into another browser's sign-in, and a
provider account that shares the admin's name and email.

(Named to sort after test_rendering.py: the browser must start after the async tests.)
"""

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.hostile.tally import tried
from tests.oidc_provider import fixtures
from tests.oidc_provider.fixtures import sign_in_at_provider
from webui.accounts.oidc_backend import REFUSED_ACTION
from webui.team.models import AuditEvent, Membership

pytestmark = [pytest.mark.hostile, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
oidc_site = fixtures.oidc_site  # the provider and its Homefire, for this module


def held_answer(page, site, username: str) -> str:
    """Sign in at the provider, but keep its answer (the callback address) undelivered.

    The answer is the redirect from the provider's consent form; Playwright routes only the
    first request of a redirect chain, so the form's own request is fetched here instead.
    """
    held: list[str] = []
    consent = re.compile(re.escape(f"{site.provider}/o/authorize/") + ".*")

    def hold(route):
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        held.append(response.headers["location"])
        route.fulfill(status=200, content_type="text/plain", body="held")

    page.route(consent, hold)
    sign_in_at_provider(page, site, username)
    expect(page.get_by_text("held")).to_be_visible()
    page.unroute(consent)
    assert held[0].startswith(f"{site.homefire}/accounts/oidc/callback/?")
    return held[0]


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, **changes})).geturl()


def expect_signed_out(page, site) -> None:
    page.goto(f"{site.homefire}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_a_forged_state_is_refused(page, oidc_site):
    answer = held_answer(page, oidc_site, "olivia")
    state = parse_qs(urlsplit(answer).query)["state"][0]
    page.goto(with_query(answer, state=state[:-1] + ("A" if state[-1] != "A" else "B")))
    tried("input")
    expect(page.locator("[data-oidc-refused]")).to_contain_text("could not be checked")
    expect_signed_out(page, oidc_site)
    assert not Membership.objects.filter(sign_in_method="oidc").exists()
    assert AuditEvent.objects.filter(action=REFUSED_ACTION).exists()


def test_a_replayed_answer_is_refused_in_the_same_and_in_another_browser(page, browser, oidc_site):
    answer = held_answer(page, oidc_site, "olivia")
    page.goto(answer)
    expect(page).to_have_url(f"{oidc_site.homefire}/")
    page.goto(answer)
    tried("cross-site")
    expect(page.locator("[data-oidc-refused]")).to_contain_text("could not be checked")
    other = browser.new_context().new_page()
    try:
        other.goto(answer)
        tried("cross-site")
        expect(other.locator("[data-oidc-refused]")).to_be_visible()
        expect_signed_out(other, oidc_site)
    finally:
        other.context.close()


def test_a_code_carried_into_another_browsers_sign_in_is_refused(page, browser, oidc_site):
    """An attacker who gets a victim's code uses it with a state of their own: the
    verifier (PKCE) and nonce kept for that state do not match the code's."""
    stolen = held_answer(page, oidc_site, "olivia")
    attacker = browser.new_context().new_page()
    try:
        attacker.goto(f"{oidc_site.homefire}/accounts/login/")
        attacker.get_by_role("link", name=f"Sign in with {oidc_site.name}").click()
        expect(attacker.get_by_label("Provider username")).to_be_visible()
        authorize = parse_qs(urlsplit(attacker.url).query)["next"][0]
        own_state = parse_qs(urlsplit(authorize).query)["state"][0]
        attacker.goto(with_query(stolen, state=own_state))
        tried("cross-site")
        expect(attacker.locator("[data-oidc-refused]")).to_be_visible()
        expect_signed_out(attacker, oidc_site)
    finally:
        attacker.context.close()
    assert not Membership.objects.filter(sign_in_method="oidc").exists()


def test_a_provider_account_with_the_admins_name_and_email_gets_an_account_of_its_own(
    page, oidc_site
):
    admin = get_user_model().objects.create_superuser(
        "admin", email="boss@example.org", password="pw-admin-12345"
    )
    sign_in_at_provider(page, oidc_site, "admin")
    tried("access")
    expect(page).to_have_url(f"{oidc_site.homefire}/")
    expect(page.locator(".sidebar-foot")).to_contain_text("admin-2")
    expect(page.locator(".sidebar-foot").get_by_role("link", name="Admin")).to_have_count(0)
    newcomer = Membership.objects.get(sign_in_method="oidc").user
    assert newcomer.username == "admin-2"
    assert not (newcomer.is_staff or newcomer.is_superuser)
    admin.refresh_from_db()
    assert not hasattr(admin, "membership") or admin.membership.sign_in_method == "local"
