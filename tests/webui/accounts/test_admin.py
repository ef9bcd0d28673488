"""Admin: how each account signs in and whether it has a second factor; the devices'
pages show no secret and filter by nothing they hide."""

import pytest
from django.contrib.auth import get_user_model

from webui.accounts import two_factor
from webui.team.models import Membership, SignInMethod

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    root = get_user_model().objects.create_superuser("root", password="pw-root-12345")
    client.force_login(root)
    return client


def test_the_account_list_shows_sign_in_method_and_two_factor(admin_client):
    users = get_user_model().objects
    carol = users.create_user("carol")
    Membership.objects.create(user=carol, sign_in_method=SignInMethod.LDAP)
    dave = users.create_user("dave")
    two_factor.enrolment_confirm(user=dave, device=two_factor.pending_device(dave))
    page = admin_client.get("/admin/auth/user/").content.decode()
    assert "Sign-in method" in page and "Two-factor" in page
    rows = {
        row.split("</a>")[0].rsplit(">", 1)[1]: row
        for row in page.split("<tr")[1:]
        if "</a>" in row
    }
    assert "directory (LDAP)" in rows["carol"] and 'alt="False"' in rows["carol"]
    assert "password" in rows["dave"] and 'alt="True"' in rows["dave"]


def test_the_authenticator_pages_hide_the_secret(admin_client):
    dave = get_user_model().objects.create_user("dave")
    device = two_factor.pending_device(dave)
    two_factor.enrolment_confirm(user=dave, device=device)
    listing = admin_client.get("/admin/otp_totp/totpdevice/")
    assert listing.status_code == 200 and b"dave" in listing.content
    detail = admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").content.decode()
    assert device.key not in detail
    # Guessing the secret a character at a time through the list's filters does not work.
    probe = admin_client.get(f"/admin/otp_totp/totpdevice/?key__startswith={device.key[0]}")
    assert probe.status_code == 400
