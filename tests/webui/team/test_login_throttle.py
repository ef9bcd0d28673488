"""Log-in throttling, by account and by address, in the real Redis; it expires on its own."""

import time

import pytest
from django.test import Client

from tests.streams import make_user
from webui.chat.streambuffer import client as redis_client

pytestmark = pytest.mark.django_db


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
