"""Signing in with OpenID Connect, in Chromium, against a real provider (tests/oidc_provider):
its own log-in and consent pages, then back to Homefire, signed in, in the mapped group."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_sidebar_search import docs_screenshot
from tests.oidc_provider import fixtures
from tests.oidc_provider.fixtures import sign_in_at_provider
from webui.accounts.oidc_backend import REFUSED_ACTION
from webui.team.models import AuditEvent, Invitation, Membership, SignupPolicy, TeamSettings

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
oidc_site = fixtures.oidc_site  # the provider and its Homefire, for this module


def watch_console(page, site) -> list[str]:
    """Console errors on Homefire's pages (the provider's own pages are not ours to judge)."""
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            m.type == "error" and page.url.startswith(site.homefire) and errors.append(m.text)
        ),
    )
    return errors


def set_policy(policy: str) -> None:
    team = TeamSettings.current()
    team.signup_policy = policy
    team.save()


def oidc_account(username: str):
    return Membership.objects.select_related("user").get(
        sign_in_method="oidc", user__username=username
    )


def test_a_new_member_signs_in_at_the_provider_and_lands_in_the_mapped_group(page, oidc_site):
    errors = watch_console(page, oidc_site)
    page.goto(f"{oidc_site.homefire}/accounts/login/")
    docs_screenshot(page, "sign-in-with-provider")
    sign_in_at_provider(page, oidc_site, "olivia")
    expect(page).to_have_url(f"{oidc_site.homefire}/")
    expect(page.locator(".sidebar-foot")).to_contain_text("olivia")
    membership = oidc_account("olivia")
    user = membership.user
    assert membership.status == Membership.Status.ACTIVE
    assert membership.external_id  # the provider's subject
    assert [g.name for g in user.groups.all()] == ["Engineers"]
    assert (user.email, user.first_name, user.last_name) == (
        "olivia@example.org",
        "Olivia",
        "Ortega",
    )
    assert not user.has_usable_password()
    # One sign-in in the audit log, by its method (webui.accounts.sessions writes it).
    assert list(AuditEvent.objects.filter(actor=user).values_list("action", flat=True)) == [
        "signed in: identity provider"
    ]
    assert errors == []


def test_closed_sign_up_refuses_a_new_provider_member_and_says_why(page, oidc_site):
    set_policy(SignupPolicy.CLOSED)
    errors = watch_console(page, oidc_site)
    sign_in_at_provider(page, oidc_site, "nolan")
    refusal = page.locator("[data-oidc-refused]")
    expect(refusal).to_contain_text("No account here is linked to your Test Provider sign-in")
    expect(refusal).to_contain_text("Sign-up is closed on this server")
    assert not Membership.objects.filter(sign_in_method="oidc").exists()
    assert AuditEvent.objects.filter(action=REFUSED_ACTION, target__contains="nolan")
    page.goto(f"{oidc_site.homefire}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    # The refusal page's own status, which Chromium reports; nothing else went wrong.
    assert errors == [
        "Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]


def test_under_approval_a_first_sign_in_waits_for_an_admin(page, oidc_site):
    set_policy(SignupPolicy.APPROVAL)
    sign_in_at_provider(page, oidc_site, "nolan")
    expect(page.get_by_text("waiting for an admin's approval")).to_be_visible()
    assert oidc_account("nolan").status == Membership.Status.PENDING


def test_under_invitation_the_invitation_link_lets_a_provider_member_in_once(page, oidc_site):
    set_policy(SignupPolicy.INVITE)
    invitation = Invitation.objects.create(note="for Nolan")
    sign_in_at_provider(page, oidc_site, "nolan", start=f"/accounts/invite/{invitation.token}/")
    expect(page).to_have_url(f"{oidc_site.homefire}/")
    invitation.refresh_from_db()
    assert invitation.used_by == oidc_account("nolan").user
    # Without an invitation, another provider member is turned away.
    page.context.clear_cookies()
    sign_in_at_provider(page, oidc_site, "olivia")
    expect(page.locator("[data-oidc-refused]")).to_contain_text("by invitation only")


def test_logging_out_ends_the_session_at_the_provider_too(page, oidc_site):
    errors = watch_console(page, oidc_site)
    sign_in_at_provider(page, oidc_site, "olivia")
    expect(page).to_have_url(f"{oidc_site.homefire}/")
    page.get_by_role("button", name="Log out").click()
    # Through the provider's log-out endpoint and back to Homefire's log-in page.
    expect(page).to_have_url(f"{oidc_site.homefire}/accounts/login/")
    page.goto(f"{oidc_site.homefire}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    # The provider forgot her too: signing in again asks for her password there.
    page.get_by_role("link", name=f"Sign in with {oidc_site.name}").click()
    expect(page.get_by_label("Provider password")).to_be_visible()
    assert errors == []
