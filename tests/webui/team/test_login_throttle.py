"""Log-in throttling, by account and by address, in the real Redis; it expires on its own."""

import time

import pytest
from django.test import Client

from tests.streams import make_user
from webui.chat.streambuffer import client as redis_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """MD5 for the accounts made here: each guess costs a hash, and these tests guess a lot."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clean_counters():
    def clear():
        for key in redis_client().scan_iter("homefire:login-failures:*"):
            redis_client().delete(key)

    clear()
    yield
    clear()


def log_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_five_failures_lock_the_account_even_for_the_right_password(client):
    make_user("alice")
    for _ in range(5):
        response = log_in(client, "alice", "wrong")
        assert response.status_code == 200 and b"Too many" not in response.content
    blocked = log_in(client, "Alice", "pw-alice-12345", address="10.9.9.9")
    assert b"Too many failed log-ins" in blocked.content and b"15 minutes" in blocked.content
    assert "_auth_user_id" not in client.session
    ttl = redis_client().ttl("homefire:login-failures:account:alice")
    assert 0 < ttl <= 900  # it expires: the real user is never locked out for good


def test_the_lock_expires_and_success_clears_the_count(client):
    make_user("alice")
    for _ in range(5):
        log_in(client, "alice", "wrong")
    assert b"Too many" in log_in(client, "alice", "pw-alice-12345").content
    # Let the window run out (as 15 minutes would), through Redis's own expiry.
    for key in redis_client().scan_iter("homefire:login-failures:*"):
        redis_client().expire(key, 1)
    time.sleep(1.5)
    response = log_in(client, "alice", "pw-alice-12345")
    assert response.status_code == 302
    assert not redis_client().exists("homefire:login-failures:account:alice")


def test_one_address_guessing_many_accounts_is_throttled(client, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "LOGIN_FAILURES_PER_ADDRESS": 3}
    make_user("bob")
    for name in ("a1", "a2", "a3"):
        log_in(client, name, "wrong", address="192.0.2.7")
    blocked = log_in(client, "bob", "pw-bob-12345", address="192.0.2.7")
    assert b"Too many failed log-ins" in blocked.content
    # Bob from his own address is not locked out by someone else's guessing.
    assert log_in(Client(), "bob", "pw-bob-12345", address="192.0.2.8").status_code == 302


def test_admin_login_is_throttled_too(client, superuser):
    for _ in range(5):
        client.post("/admin/login/", {"username": "root", "password": "nope"})
    response = client.post("/admin/login/", {"username": "root", "password": "pw-root-12345"})
    assert b"Too many failed log-ins" in response.content


def test_a_form_without_a_password_neither_counts_nor_clears(client):
    make_user("alice")
    for _ in range(2):
        log_in(client, "alice", "wrong")
    client.post("/accounts/login/", {"username": "alice", "password": ""})
    assert int(redis_client().get("homefire:login-failures:account:alice")) == 2


def test_a_right_password_gives_its_count_back_to_the_address(client):
    make_user("alice")
    log_in(client, "nobody", "wrong", address="192.0.2.7")
    assert log_in(Client(), "alice", "pw-alice-12345", address="192.0.2.7").status_code == 302
    assert int(redis_client().get("homefire:login-failures:address:192.0.2.7")) == 1
    assert not redis_client().exists("homefire:login-failures:account:alice")


def test_a_refused_check_does_not_count_against_the_account(client, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "LOGIN_FAILURES_PER_ADDRESS": 1}
    make_user("bob")
    log_in(client, "nobody", "wrong", address="192.0.2.7")
    for _ in range(6):  # refused for the address: bob's account is never checked
        assert b"Too many" in log_in(Client(), "bob", "wrong", address="192.0.2.7").content
    assert not redis_client().exists("homefire:login-failures:account:bob")
    assert log_in(Client(), "bob", "pw-bob-12345", address="192.0.2.8").status_code == 302


def test_an_ipv6_client_counts_as_its_whole_64(client, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "LOGIN_FAILURES_PER_ADDRESS": 2}
    make_user("bob")
    log_in(client, "a1", "wrong", address="2001:db8:1:2::1")
    log_in(client, "a2", "wrong", address="2001:db8:1:2::2")
    blocked = log_in(Client(), "bob", "pw-bob-12345", address="2001:db8:1:2::3")
    assert b"Too many failed log-ins" in blocked.content
    assert log_in(Client(), "bob", "pw-bob-12345", address="2001:db8:1:3::1").status_code == 302


def test_the_address_behind_a_trusted_proxy_is_the_one_counted(client, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "TRUSTED_PROXIES": ["127.0.0.1"]}
    client.post(
        "/accounts/login/",
        {"username": "nobody", "password": "wrong"},
        REMOTE_ADDR="127.0.0.1",
        headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.5"},
    )
    assert redis_client().exists("homefire:login-failures:address:203.0.113.5")


def test_the_first_refusal_is_logged_once(client, caplog):
    make_user("alice")
    for _ in range(7):
        log_in(client, "alice", "wrong")
    warnings = [r.getMessage() for r in caplog.records if r.name == "webui.team.throttle"]
    assert warnings == ["Password checks paused for account alice: too many failed"]


def test_the_admin_password_change_is_throttled_too(client, superuser):
    client.force_login(superuser)
    new = "a-new-passphrase-9931"
    for old in ["nope"] * 5 + ["pw-root-12345"]:
        data = {"old_password": old, "new_password1": new, "new_password2": new}
        response = client.post("/admin/password_change/", data)
    assert b"Too many failed log-ins" in response.content
    superuser.refresh_from_db()
    assert superuser.check_password("pw-root-12345")
