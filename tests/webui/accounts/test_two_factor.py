"""Two-factor sign-in: setting up, the code after the password, recovery codes, the team's
requirement, fresh codes for new API keys, turning it off."""

import base64
import time

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.streams import make_user
from tests.webui.accounts.conftest import code_for
from webui.accounts import two_factor
from webui.api.models import ApiKey
from webui.team.models import AuditEvent, TeamSettings

pytestmark = pytest.mark.django_db

PASSWORD = "pw-alice-12345"


def log_in(client: Client, username: str = "alice", password: str = PASSWORD, **extra):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.1",
        **extra,
    )


def enter(client: Client, code: str, url: str = "/accounts/two-factor/code/"):
    return client.post(url, {"code": code}, REMOTE_ADDR="10.0.0.1")


def enrolled(user) -> tuple[TOTPDevice, list[str]]:
    device = two_factor.pending_device(user)
    return device, two_factor.enrolment_confirm(user=user, device=device)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


class TestSetUp:
    def test_the_page_shows_a_qr_code_and_the_secret_and_a_code_turns_it_on(self, client):
        alice = make_user("alice")
        client.force_login(alice)
        page = client.get("/accounts/two-factor/").content.decode()
        assert 'src="data:image/svg+xml' in page
        assert "style=" not in page.split('src="data:')[0].rsplit("<img", 1)[1]
        device = TOTPDevice.objects.get(user=alice, confirmed=False)
        secret = page.split("data-totp-secret>")[1].split("<")[0].replace(" ", "")
        assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
        # A reload keeps the same secret: the app scanned it already.
        client.get("/accounts/two-factor/")
        assert TOTPDevice.objects.filter(user=alice).count() == 1

        assert enter(client, "000000", "/accounts/two-factor/").status_code == 200
        response = enter(client, code_for(device), "/accounts/two-factor/")
        assert response.url == "/accounts/two-factor/recovery-codes/"
        device.refresh_from_db()
        assert device.confirmed
        codes_page = client.get(response.url).content.decode()
        codes = [c.split("</code>")[0] for c in codes_page.split("<li><code>")[1:]]
        assert len(codes) == 10 == len(set(codes))
        assert set(codes) == set(StaticToken.objects.values_list("token", flat=True))
        # Shown once.
        assert client.get(response.url).url == "/accounts/two-factor/"
        assert AuditEvent.objects.filter(action="two-factor turned on", actor=alice).exists()

    def test_a_recovery_code_cannot_confirm_the_set_up(self, client):
        alice = make_user("alice")
        client.force_login(alice)
        client.get("/accounts/two-factor/")
        assert enter(client, "abcdefgh", "/accounts/two-factor/").status_code == 200
        assert not TOTPDevice.objects.filter(user=alice, confirmed=True).exists()


class TestSignIn:
    def test_the_password_alone_does_not_sign_in(self, client):
        device, _ = enrolled(make_user("alice"))
        response = log_in(client)
        assert response.url == "/accounts/two-factor/code/"
        assert not signed_in(client)
        assert client.get("/").url.startswith("/accounts/login/")
        assert enter(client, f"{(int(code_for(device)) + 500_000) % 10**6:06d}").status_code == 200
        assert not signed_in(client)
        response = enter(client, code_for(device))
        assert response.status_code == 302 and signed_in(client)
        assert client.get("/").status_code == 200
        event = AuditEvent.objects.filter(action__startswith="signed in").latest("at")
        assert event.action == "signed in: password + authenticator code"
        assert event.target == "10.0.0.1"

    def test_a_code_works_once(self, client):
        device, _ = enrolled(make_user("alice"))
        code = code_for(device)
        log_in(client)
        enter(client, code)
        other = Client()
        log_in(other)
        assert b"used already" in enter(other, code).content
        assert not signed_in(other)

    def test_the_next_page_is_kept_and_must_be_this_site(self, client):
        device, _ = enrolled(make_user("alice"))
        client.post(
            "/accounts/login/",
            {"username": "alice", "password": PASSWORD, "next": "/accounts/keys/"},
        )
        assert enter(client, code_for(device)).url == "/accounts/keys/"
        other = Client()
        other.post(
            "/accounts/login/",
            {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"},
        )
        assert enter(other, code_for(device, 1)).url == "/"

    def test_each_recovery_code_works_once(self, client):
        _, codes = enrolled(make_user("alice"))
        log_in(client)
        response = enter(client, codes[0].upper())
        assert response.url == "/accounts/two-factor/?recovery=used" and signed_in(client)
        page = client.get(response.url).content.decode()
        assert "data-recovery-left>9<" in page and "data-recovery-used" in page
        again = Client()
        log_in(again)
        assert b"used already" in enter(again, codes[0]).content
        assert not signed_in(again)
        assert enter(again, codes[1]).status_code == 302 and signed_in(again)
        event = AuditEvent.objects.filter(action__startswith="signed in").latest("at")
        assert event.action == "signed in: password + recovery code"

    def test_the_wait_for_the_code_expires(self, client, monkeypatch):
        device, _ = enrolled(make_user("alice"))
        log_in(client)
        later = time.time() + two_factor.PENDING_SECONDS + 1
        monkeypatch.setattr(two_factor.time, "time", lambda: later)
        assert client.post("/accounts/two-factor/code/", {"code": code_for(device)}).url == (
            "/accounts/login/"
        )
        assert not signed_in(client)

    def test_without_a_device_the_password_signs_in_as_before(self, client):
        make_user("alice")
        assert log_in(client).url == "/" and signed_in(client)

    def test_the_admin_log_in_form_is_held_at_the_code_too(self, client):
        user = make_user("alice")
        user.is_staff = True
        user.save()
        device, _ = enrolled(user)
        client.post("/admin/login/", {"username": "alice", "password": PASSWORD})
        assert signed_in(client)  # the admin's own form signed in: the middleware holds it
        held = client.get("/admin/")
        assert held.url == "/accounts/two-factor/code/?next=%2Fadmin%2F"
        assert client.get("/").url.startswith("/accounts/two-factor/code/")
        assert enter(client, code_for(device), held.url).url == "/admin/"
        assert client.get("/admin/").status_code == 200


class TestRequired:
    def test_staff_must_set_it_up_before_anything_else(self, client):
        team = TeamSettings.current()
        team.two_factor_required_for_staff = True
        team.save()
        staff = make_user("alice")
        staff.is_staff = True
        staff.save()
        log_in(client)
        assert client.get("/").url == "/accounts/two-factor/"
        assert client.get("/admin/").url == "/accounts/two-factor/"
        page = client.get("/accounts/two-factor/").content.decode()
        assert "data-two-factor-required" in page
        # A member who is not staff goes on as before.
        make_user("bob")
        bob = Client()
        log_in(bob, "bob", "pw-bob-12345")
        assert bob.get("/").status_code == 200

    def test_members_of_a_chosen_group_must_too(self, client):
        team = TeamSettings.current()
        team.save()
        finance = Group.objects.create(name="finance")
        team.two_factor_required_groups.add(finance)
        alice = make_user("alice")
        alice.groups.add(finance)
        log_in(client)
        assert client.get("/").url == "/accounts/two-factor/"
        client.get("/accounts/two-factor/")
        device = TOTPDevice.objects.get(user=alice)
        enter(client, code_for(device), "/accounts/two-factor/")
        assert client.get("/").status_code == 200

    def test_the_api_with_a_key_is_not_held(self, client):
        team = TeamSettings.current()
        team.two_factor_required_for_staff = True
        team.save()
        staff = make_user("alice")
        staff.is_staff = True
        staff.save()
        _, secret = ApiKey.issue(user=staff, name="editor")
        response = client.get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 200


class TestFreshCodeForKeys:
    def test_a_new_key_wants_a_code_from_the_last_ten_minutes(self, client):
        alice = make_user("alice")
        device, _ = enrolled(alice)
        log_in(client)
        enter(client, code_for(device))
        assert client.post("/accounts/keys/", {"name": "fresh"}).url == "/accounts/keys/"
        session = client.session
        session["two_factor_verified_at"] = time.time() - 601
        session.save()
        response = client.post("/accounts/keys/", {"name": "stale"})
        assert response.url.startswith("/accounts/two-factor/code/?next=%2Faccounts%2Fkeys%2F")
        assert list(ApiKey.objects.values_list("name", flat=True)) == ["fresh"]
        page = client.get(response.url).content.decode()
        assert "Confirm it is you" in page
        assert enter(client, code_for(device, 1), response.url).url == "/accounts/keys/"
        assert client.post("/accounts/keys/", {"name": "again"}).url == "/accounts/keys/"
        assert ApiKey.objects.filter(name="again").exists()

    def test_without_a_device_keys_are_made_as_before(self, client):
        client.force_login(make_user("alice"))
        assert client.post("/accounts/keys/", {"name": "plain"}).url == "/accounts/keys/"


class TestTurnOff:
    def test_it_takes_a_code(self, client):
        alice = make_user("alice")
        device, codes = enrolled(alice)
        log_in(client)
        enter(client, code_for(device))
        assert client.post("/accounts/two-factor/off/", {"code": "zzzzzzzz"}).status_code == 400
        assert TOTPDevice.objects.filter(user=alice).exists()
        assert client.post("/accounts/two-factor/off/", {"code": codes[3]}).status_code == 302
        assert not TOTPDevice.objects.filter(user=alice).exists()
        assert not StaticToken.objects.filter(device__user=alice).exists()
        assert AuditEvent.objects.filter(action="two-factor turned off").exists()
        other = Client()
        assert log_in(other).url == "/" and signed_in(other)
