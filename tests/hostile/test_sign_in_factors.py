"""Hostile sign-ins: guessing two-factor codes, a half-done sign-in trying the socket,
reset links reused or forged."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import TOTP

from tests.hostile.tally import tried
from tests.loops import run_in_its_own_thread
from tests.streams import communicator
from webui.accounts import two_factor
from webui.chat.models import Conversation
from webui.core.redis import client as redis_client

pytestmark = pytest.mark.hostile

PASSWORD = "pw-alice-12345"


@pytest.fixture(autouse=True)
def clean_counters(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def clear():
        for pattern in ("homefire:login-failures:*", "homefire:password-resets:*"):
            for key in redis_client().scan_iter(pattern):
                redis_client().delete(key)

    clear()
    yield
    clear()


def _alice_with_device():
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    device = two_factor.pending_device(alice)
    two_factor.enrolment_confirm(user=alice, device=device)
    return alice, device


def _code(device, steps_ahead: int = 0) -> str:
    return f"{TOTP(device.bin_key, drift=steps_ahead).token():06d}"


def _wrong(device) -> str:
    right = {_code(device, step) for step in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(100_000, 999_999, 7919) if f"{n:06d}" not in right)


def _password(client: Client, address: str) -> None:
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR=address
    )
    assert response.url == "/accounts/two-factor/code/"


def _enter(client: Client, code: str, address: str):
    return client.post("/accounts/two-factor/code/", {"code": code}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_wrong_codes_are_throttled_and_the_right_password_does_not_clear_them():
    _, device = _alice_with_device()
    guesser = Client()
    _password(guesser, "192.0.2.1")
    for _ in range(5):
        assert b"not right" in _enter(guesser, _wrong(device), "192.0.2.1").content
    tried("access", 5)
    refused = _enter(guesser, _code(device), "192.0.2.1")
    assert b"Too many failed log-ins" in refused.content
    assert "_auth_user_id" not in guesser.session
    # The password again (it is right) and another address: the codes stay paused.
    again = Client()
    _password(again, "192.0.2.2")
    assert b"Too many failed log-ins" in _enter(again, _code(device), "192.0.2.2").content
    tried("access", 2)
    ttl = redis_client().ttl("homefire:login-failures:account:second-factor:alice")
    assert 0 < ttl <= 900
    # Once the window is over (Redis expires it), the right code signs in.
    redis_client().delete("homefire:login-failures:account:second-factor:alice")
    assert _enter(again, _code(device), "192.0.2.2").status_code == 302
    assert "_auth_user_id" in again.session


@pytest.mark.django_db
def test_codes_and_recovery_codes_from_another_account_do_not_work():
    _, device = _alice_with_device()
    bob = get_user_model().objects.create_user("bob", password="pw-bob-12345")
    bob_device = two_factor.pending_device(bob)
    bob_codes = two_factor.enrolment_confirm(user=bob, device=bob_device)
    client = Client()
    _password(client, "192.0.2.3")
    for code in (_code(bob_device), bob_codes[0]):
        if code != _code(device):
            assert b"not right" in _enter(client, code, "192.0.2.3").content
    tried("access", 2)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db(transaction=True)
def test_a_session_that_gave_only_the_password_cannot_open_the_socket(quick_model):
    alice, _ = _alice_with_device()
    conversation = Conversation.objects.create(owner=alice, model=quick_model)
    client = Client()
    _password(client, "127.0.0.1")
    cookie = client.cookies["sessionid"].value

    async def connect():
        comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie)
        return await comm.connect()

    # In a loop of its own: a transactional test runs after the browser tests, which
    # leave theirs running in this thread.
    connected, code = run_in_its_own_thread(connect)
    tried("access")
    assert not connected and code == 4401


@pytest.mark.django_db
def test_reset_links_reused_forged_or_for_someone_else_are_refused(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    users = get_user_model().objects
    alice = users.create_user("alice", email="alice@example.org", password=PASSWORD)
    bob = users.create_user("bob", email="bob@example.org", password="pw-bob-12345")
    client = Client()
    client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    link = re.search(r"http://testserver(\S+/)", mail.outbox[0].body)[1]
    uid, token = link.rstrip("/").split("/")[-2:]

    def refused(path: str) -> bool:
        return b"data-reset-link-refused" in Client().get(path, follow=True).content

    bob_uid = urlsafe_base64_encode(force_bytes(bob.pk))
    assert refused(f"/accounts/password/reset/{bob_uid}/{token}/")  # alice's token, bob's id
    assert refused(f"/accounts/password/reset/{uid}/{token[:-1]}x/")  # tampered
    assert refused(f"/accounts/password/reset/{uid}/set-password/")  # no token in session
    tried("access", 3)
    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"},
    )
    assert refused(link)  # used
    tried("access")
    alice.refresh_from_db()
    fresh = default_token_generator.make_token(alice)
    assert fresh != token  # a new password makes new tokens; the old one is dead
    bob.refresh_from_db()
    assert bob.check_password("pw-bob-12345")
