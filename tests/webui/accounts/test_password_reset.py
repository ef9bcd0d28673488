"""Password reset by email: offered only with email configured, local accounts only,
throttled, links that work once and expire. (The real SMTP server: tests/browser.)"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.streams import make_user
from webui.team.models import AuditEvent, Membership, SignInMethod

pytestmark = pytest.mark.django_db

LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def email_on(settings):
    settings.MAILERS = LOCMEM


def member(username: str, email: str = "", method: str = SignInMethod.LOCAL):
    user = make_user(username)
    user.email = email or f"{username}@example.org"
    user.save()
    Membership.objects.create(user=user, sign_in_method=method)
    return user


def ask(client: Client, email: str, address: str = "10.0.0.1"):
    return client.post("/accounts/password/reset/", {"email": email}, REMOTE_ADDR=address)


def link_in(message) -> str:
    return re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body)[1]


def test_without_email_the_log_in_page_says_to_ask_an_admin(client, settings):
    settings.MAILERS = {}
    page = client.get("/accounts/login/").content.decode()
    assert "Ask an admin" in page and "/accounts/password/reset/" not in page
    response = client.get("/accounts/password/reset/")
    assert response.status_code == 404 and b"data-reset-unavailable" in response.content


def test_with_email_the_log_in_page_offers_the_link(client, email_on):
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in page and "Forgot password?" in page


def test_the_link_sets_a_new_password_once(client, email_on):
    alice = member("alice")
    response = ask(client, "ALICE@example.org")
    assert response.url == "/accounts/password/reset/sent/"
    (message,) = mail.outbox
    assert message.to == ["alice@example.org"] and "1 hour" in message.body
    link = link_in(message)
    form = client.get(link, follow=True)
    assert b"data-new-password" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"},
    )
    assert done.url == "/accounts/password/reset/done/"
    alice.refresh_from_db()
    assert alice.check_password("a new long passphrase")
    again = Client().get(link, follow=True)
    assert b"data-reset-link-refused" in again.content
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"password reset emailed", "password reset by email"} <= actions


def test_an_expired_link_is_refused(client, email_on, settings, monkeypatch):
    alice = member("alice")
    ask(client, "alice@example.org")
    link = link_in(mail.outbox[0])
    later = default_token_generator._now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 5)
    monkeypatch.setattr(type(default_token_generator), "_now", lambda self: later)
    assert b"data-reset-link-refused" in client.get(link, follow=True).content
    alice.refresh_from_db()
    assert alice.check_password("pw-alice-12345")


def test_directory_and_provider_accounts_get_no_email(client, email_on):
    carol = member("carol", method=SignInMethod.LDAP)
    member("dave", method=SignInMethod.OIDC)
    for email in ("carol@example.org", "dave@example.org", "nobody@example.org"):
        assert ask(client, email).url == "/accounts/password/reset/sent/"
    assert mail.outbox == []
    # A link made for such an account by hand does not work either.
    uid = urlsafe_base64_encode(force_bytes(carol.pk))
    token = default_token_generator.make_token(carol)
    page = client.get(f"/accounts/password/reset/{uid}/{token}/", follow=True)
    assert b"data-reset-link-refused" in page.content


def test_requests_are_throttled_per_email_and_per_address(client, email_on, settings):
    member("alice")
    for _ in range(3):
        assert ask(client, "alice@example.org").status_code == 302
    refused = ask(client, "alice@example.org", address="10.0.0.2")
    assert refused.status_code == 200 and b"Too many reset emails" in refused.content
    assert len(mail.outbox) == 3
    # An address asking for many accounts is paused too, without saying which exist.
    settings.HOMEFIRE = {**settings.HOMEFIRE, "PASSWORD_RESETS_PER_ADDRESS": 2}
    for name in ("x1", "x2"):
        assert ask(client, f"{name}@example.org", address="192.0.2.9").status_code == 302
    assert b"Too many reset emails" in ask(client, "y@example.org", address="192.0.2.9").content
