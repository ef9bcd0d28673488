"""The Sessions page: sessions recorded at sign-in, seen once a minute, signed out from
another. (Their sockets closing: tests/browser/test_sessions_page.py.)"""

import time

import pytest
from django.test import Client

from tests.streams import make_user
from webui.accounts import sessions
from webui.accounts.models import SessionRecord
from webui.team.models import AuditEvent

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def signed_in(username: str, agent: str, address: str) -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    response = client.post(
        "/accounts/login/", {"username": username, "password": f"pw-{username}-12345"}
    )
    assert response.status_code == 302
    return client


def test_a_sign_in_is_recorded_with_device_address_and_method():
    alice = make_user("alice")
    desk = signed_in("alice", FIREFOX, "10.0.0.5")
    signed_in("alice", IPHONE, "10.0.0.6")
    record = SessionRecord.objects.get(session_key=desk.session.session_key)
    assert (record.user, str(record.address), record.sign_in_method) == (alice, "10.0.0.5", "local")
    page = desk.get("/accounts/sessions/").content.decode()
    assert "Firefox on Windows" in page and "Safari on iPhone" in page
    assert "10.0.0.6" in page and page.count("data-session-id") == 2
    assert "now (this browser)" in page
    assert AuditEvent.objects.filter(action="signed in: password", target="10.0.0.5").exists()


def test_last_seen_is_written_at_most_once_a_minute(monkeypatch):
    make_user("alice")
    desk = signed_in("alice", FIREFOX, "10.0.0.5")
    record = SessionRecord.objects.get(session_key=desk.session.session_key)
    desk.get("/accounts/sessions/")
    record.refresh_from_db()
    first = record.last_seen
    desk.get("/accounts/sessions/")
    record.refresh_from_db()
    assert record.last_seen == first
    later = time.time() + sessions.SEEN_EVERY_SECONDS + 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    desk.get("/accounts/sessions/")
    record.refresh_from_db()
    assert record.last_seen > first


def test_sign_out_everywhere_else_ends_the_other_sessions_only():
    make_user("alice")
    make_user("bob")
    desk = signed_in("alice", FIREFOX, "10.0.0.5")
    phone = signed_in("alice", IPHONE, "10.0.0.6")
    tablet = signed_in("alice", IPHONE, "10.0.0.7")
    bob = signed_in("bob", FIREFOX, "10.0.0.8")
    assert desk.post("/accounts/sessions/sign-out-others/").url == "/accounts/sessions/"
    assert phone.get("/").url.startswith("/accounts/login/")
    assert tablet.get("/").url.startswith("/accounts/login/")
    assert desk.get("/").status_code == 200
    assert bob.get("/").status_code == 200
    assert SessionRecord.objects.filter(user__username="alice").count() == 1
    event = AuditEvent.objects.get(action="signed out everywhere else")
    assert event.target == "2 session(s)"


def test_one_session_is_signed_out_by_its_row_and_only_the_owners():
    make_user("alice")
    make_user("bob")
    desk = signed_in("alice", FIREFOX, "10.0.0.5")
    phone = signed_in("alice", IPHONE, "10.0.0.6")
    bob = signed_in("bob", FIREFOX, "10.0.0.8")
    phone_row = SessionRecord.objects.get(session_key=phone.session.session_key)
    bob_row = SessionRecord.objects.get(session_key=bob.session.session_key)
    assert desk.post(f"/accounts/sessions/{bob_row.pk}/sign-out/").status_code == 404
    assert bob.get("/").status_code == 200
    own_row = SessionRecord.objects.get(session_key=desk.session.session_key)
    assert desk.post(f"/accounts/sessions/{own_row.pk}/sign-out/").status_code == 404
    assert desk.post(f"/accounts/sessions/{phone_row.pk}/sign-out/").status_code == 302
    assert phone.get("/").url.startswith("/accounts/login/")
    assert desk.get("/").status_code == 200


def test_sessions_ended_otherwise_leave_the_list():
    alice = make_user("alice")
    desk = signed_in("alice", FIREFOX, "10.0.0.5")
    phone = signed_in("alice", IPHONE, "10.0.0.6")
    phone.post("/accounts/logout/")
    assert SessionRecord.objects.filter(user=alice).count() == 1
    laptop = signed_in("alice", FIREFOX, "10.0.0.9")
    laptop.session.flush()  # as if it expired
    rows = desk.get("/accounts/sessions/").content.decode().count("data-session-id")
    assert rows == 1


def test_device_names_from_user_agents():
    assert sessions.device_text(FIREFOX) == "Firefox on Windows"
    assert sessions.device_text(IPHONE) == "Safari on iPhone"
    edge = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0"
    assert sessions.device_text(edge) == "Edge on Windows"
    assert sessions.device_text("curl/8.5.0") == "curl/8.5.0"
    assert sessions.device_text("") == "Unknown device"


def test_a_new_password_keeps_this_session_listed_under_its_new_key():
    make_user("alice")
    desk = signed_in("alice", FIREFOX, "10.0.0.5")
    old_key = desk.session.session_key
    desk.post(
        "/accounts/password/",
        {
            "old_password": "pw-alice-12345",
            "new_password1": "a new long passphrase",
            "new_password2": "a new long passphrase",
        },
    )
    assert desk.session.session_key != old_key
    page = desk.get("/accounts/sessions/").content.decode()
    assert page.count("data-session-id") == 1 and "data-current-session" in page


def test_signing_in_over_another_accounts_session_records_the_new_one():
    make_user("alice")
    bob = make_user("bob")
    shared = signed_in("alice", FIREFOX, "10.0.0.5")
    shared.force_login(bob)  # login() flushes alice's session: no key until it is saved
    record = SessionRecord.objects.get(user=bob)
    assert record.session_key == shared.session.session_key
    assert shared.get("/accounts/sessions/").status_code == 200
