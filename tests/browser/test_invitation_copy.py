"""An admin copies an invitation link, whole, from the invitations list."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_admin import admin_log_in
from webui.team.models import Invitation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_copy_button_copies_the_whole_invitation_link(page, asgi_server):
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=asgi_server)
    admin_log_in(page, asgi_server)
    invitation = Invitation.objects.create(note="for Dana")
    page.goto(f"{asgi_server}/admin/team/invitation/")
    link = f"{asgi_server}/accounts/invite/{invitation.token}/"
    expect(page.locator("[data-invitation-link]")).to_have_text(link)
    copy = page.get_by_role("button", name="Copy the invitation link")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link
    # The link works: a stranger who opens it gets the sign-up form.
    page.context.clear_cookies()
    page.goto(link)
    expect(page.locator("input[name=username]")).to_be_visible()
    assert errors == []
