"""Privacy: admins do not read conversations unless allowed, and each read is audited;
admin actions are audited; members delete their accounts; old conversations go."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.conftest import wait_for
from tests.streams import make_user
from webui.api.models import ApiKey
from webui.chat import retention
from webui.chat.models import Conversation, Message
from webui.team.models import AuditEvent, Invitation, TeamSettings, UsageRecord

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]
SECRET = "alice's private medical question"


@pytest.fixture
def alices(idle_model):
    alice = make_user("alice")
    conversation = Conversation.objects.create(owner=alice, model=idle_model, title="Checkup")
    Message.objects.create(conversation=conversation, role="user", content=SECRET)
    Message.objects.create(conversation=conversation, role="assistant", content="<b>answer</b>")
    return conversation


@pytest.fixture
def admin_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def test_chat_admin_shows_no_message_content_by_default(admin_client, alices):
    pages = [
        f"/admin/chat/conversation/{alices.pk}/change/",
        "/admin/chat/message/",
        f"/admin/chat/message/{alices.messages.first().pk}/change/",
        "/admin/chat/conversation/?q=medical",
    ]
    for path in pages:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert SECRET not in response.content.decode(), path
    page = admin_client.get(pages[0]).content.decode()
    assert "HOMEFIRE_ADMIN_CAN_READ" in page
    # Titles are made from members' words: no admin page names a conversation by them,
    # not even those that list what a deletion would take with it.
    for path in [
        pages[0],
        "/admin/chat/conversation/",
        f"/admin/chat/conversation/{alices.pk}/delete/",
        f"/admin/auth/user/{alices.owner_id}/delete/",
    ]:
        body = admin_client.get(path).content.decode()
        assert "Checkup" not in body and SECRET not in body, path
    assert admin_client.get(f"/team/read/{alices.pk}/").status_code == 403
    assert not AuditEvent.objects.filter(action="read conversation").exists()


def test_reading_when_allowed_asks_for_a_reason_and_is_audited(
    admin_client, alices, superuser, settings
):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "ADMIN_CAN_READ": True}
    change = admin_client.get(f"/admin/chat/conversation/{alices.pk}/change/").content.decode()
    assert f"/team/read/{alices.pk}/" in change and SECRET not in change
    ask = admin_client.get(f"/team/read/{alices.pk}/").content.decode()
    assert "audit log" in ask and SECRET not in ask
    no_reason = admin_client.post(f"/team/read/{alices.pk}/", {"reason": ""})
    assert SECRET not in no_reason.content.decode()
    assert not AuditEvent.objects.filter(action="read conversation").exists()
    read = admin_client.post(f"/team/read/{alices.pk}/", {"reason": "Abuse report #12"})
    body = read.content.decode()
    assert SECRET.replace("'", "&#x27;") in body and "&lt;b&gt;answer&lt;/b&gt;" in body
    event = AuditEvent.objects.get(action="read conversation")
    assert event.actor == superuser and event.reason == "Abuse report #12"
    assert "alice" in event.target and event.at <= timezone.now()


def test_members_and_plain_staff_cannot_read_even_when_allowed(client, alices, settings, staff):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "ADMIN_CAN_READ": True}
    client.force_login(make_user("bob"))
    assert client.post(f"/team/read/{alices.pk}/", {"reason": "curious!"}).status_code == 404
    client.force_login(staff)  # staff without the view-message permission
    assert client.post(f"/team/read/{alices.pk}/", {"reason": "curious!"}).status_code == 403
    assert not AuditEvent.objects.exclude(action__startswith="signed in").exists()


def test_admin_actions_on_users_and_models_are_audited(admin_client, superuser, idle_model):
    bob = make_user("bob")
    response = admin_client.post(
        f"/admin/auth/user/{bob.pk}/change/",
        {
            "username": "bob",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    admin_client.post(f"/admin/registry/llmmodel/{idle_model.pk}/delete/", {"post": "yes"})
    actions = list(AuditEvent.objects.values_list("action", "target"))
    assert any(a == "admin: changed" and "bob" in t for a, t in actions), actions
    assert any(a == "admin: deleted" and "Team idle" in t for a, t in actions), actions
    assert all(e.actor == superuser for e in AuditEvent.objects.all())


def test_deleting_ones_account_takes_all_its_data(client, alices):
    alice = alices.owner
    alice.set_password("pw-alice-12345")
    alice.save()
    ApiKey.issue(user=alice, name="k")
    UsageRecord.objects.create(message_id=1, user=alice, day=timezone.localdate())
    client.force_login(alice)
    assert b"cannot be undone" in client.get("/team/account/delete/").content
    wrong = client.post("/team/account/delete/", {"password": "guess"})
    assert wrong.status_code == 200 and b"not your password" in wrong.content
    assert get_user_model().objects.filter(pk=alice.pk).exists()
    done = client.post("/team/account/delete/", {"password": "pw-alice-12345"})
    assert b"are deleted" in done.content
    assert not get_user_model().objects.filter(pk=alice.pk).exists()
    assert not Conversation.objects.exists() and not Message.objects.exists()
    assert not ApiKey.objects.exists() and not UsageRecord.objects.exists()
    assert AuditEvent.objects.filter(action="account deleted by its owner").exists()
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_account_deletion_needs_the_csrf_token(alices):
    alice = alices.owner
    alice.set_password("pw-alice-12345")
    alice.save()
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/team/account/delete/", {"password": "pw-alice-12345"})
    assert response.status_code == 403
    assert get_user_model().objects.filter(pk=alice.pk).exists()


def test_an_account_without_a_password_confirms_its_deletion_with_its_username(client):
    """Accounts of the directory or the identity provider have no password here."""
    olivia = get_user_model().objects.create_user("olivia")
    olivia.set_unusable_password()
    olivia.save()
    client.force_login(olivia)
    page = client.get("/team/account/delete/").content.decode()
    assert 'name="username"' in page and 'name="password"' not in page
    assert "/accounts/password/" not in client.get("/").content.decode()
    wrong = client.post("/team/account/delete/", {"username": "alice"})
    assert b"not your username" in wrong.content
    assert get_user_model().objects.filter(pk=olivia.pk).exists()
    client.post("/team/account/delete/", {"username": "olivia"})
    assert not get_user_model().objects.filter(pk=olivia.pk).exists()


def test_purge_deletes_only_conversations_past_retention(idle_model, capsys):
    alice = make_user("alice")
    old, recent, busy = (
        Conversation.objects.create(owner=alice, model=idle_model) for _ in range(3)
    )
    Message.objects.create(conversation=busy, role="assistant", status="streaming")
    long_ago = timezone.now() - timedelta(days=40)
    Conversation.objects.filter(pk__in=[old.pk, busy.pk]).update(updated_at=long_ago)

    call_command("purge_old_conversations")  # no retention set: keeps everything
    assert Conversation.objects.count() == 3
    TeamSettings.objects.update_or_create(pk=1, defaults={"retention_days": 30})
    call_command("purge_old_conversations")
    assert "Deleted 1 conversation(s)." in capsys.readouterr().out
    assert set(Conversation.objects.values_list("pk", flat=True)) == {recent.pk, busy.pk}


def test_initial_settings_come_from_the_environment(settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "SIGNUP": "invite", "RETENTION_DAYS": 90}
    row = TeamSettings.current()
    assert (row.signup_policy, row.retention_days) == ("invite", 90)
    # Reading writes nothing (workers read it from every heartbeat; a database being
    # restored must stay empty).
    assert not TeamSettings.objects.exists()


def test_team_admin_pages_work_and_invitations_are_made_there(admin_client, superuser):
    for name in (
        "teamsettings",
        "membership",
        "invitation",
        "modelaccess",
        "limit",
        "referenceprice",
        "usagerecord",
        "auditevent",
    ):
        assert admin_client.get(f"/admin/team/{name}/").status_code == 200, name
    assert TeamSettings.objects.count() == 1
    for name in ("invitation", "modelaccess", "limit", "referenceprice"):
        assert admin_client.get(f"/admin/team/{name}/add/").status_code == 200, name
    response = admin_client.post(
        "/admin/team/invitation/add/",
        {"note": "for the new intern", "expires_at_0": "2099-01-01", "expires_at_1": "09:00:00"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.created_by == superuser and invitation.is_usable
    listing = admin_client.get("/admin/team/invitation/").content.decode()
    assert f"/accounts/invite/{invitation.token}/" in listing
    assert AuditEvent.objects.filter(action="admin: added", target__contains="intern").exists()


def test_the_purge_deletes_only_with_retention_set(idle_model):
    old = Conversation.objects.create(owner=make_user("alice"), model=idle_model)
    Conversation.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=40))

    assert retention.purge_old_conversations() == 0  # no retention: nothing
    TeamSettings.objects.update_or_create(pk=1, defaults={"retention_days": 30})
    assert retention.purge_old_conversations() == 1
    assert not Conversation.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_housekeeping_deletes_old_conversations_on_its_own(start_worker, bundled_model):
    from webui.celery import app

    alice = make_user("alice")
    old, recent = (Conversation.objects.create(owner=alice, model=bundled_model) for _ in "ab")
    Conversation.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=40))
    TeamSettings.objects.update_or_create(pk=1, defaults={"retention_days": 30})

    start_worker()  # and housekeeping with it
    # The hourly run, now: as the beat schedule sends it (settings.CELERY_BEAT_SCHEDULE).
    entry = settings.CELERY_BEAT_SCHEDULE["purge-old-conversations"]
    app.send_task(entry["task"], **entry["options"])

    wait_for(
        lambda: not Conversation.objects.filter(pk=old.pk).exists(),
        timeout=60,
        message="housekeeping's purge",
    )
    assert Conversation.objects.filter(pk=recent.pk).exists()


def test_deleting_a_conversation_in_admin_leaves_no_title_in_the_audit_log(admin_client, alices):
    response = admin_client.post(
        f"/admin/chat/conversation/{alices.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert response.status_code == 200 and not Conversation.objects.filter(pk=alices.pk).exists()
    assert "Checkup" not in response.content.decode()
    events = AuditEvent.objects.all()
    assert events.exists() and not any("Checkup" in str(vars(event)) for event in events)
