from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from tests.streams import make_user
from webui.api.auth import user_for_key
from webui.api.models import ApiKey, hash_key


@pytest.fixture
def alice(db):
    return make_user("alice")


def test_key_is_stored_hashed_and_authenticates(alice):
    key, raw = ApiKey.issue(user=alice, name="editor")
    assert raw not in (key.hashed, key.prefix) and key.hashed == hash_key(raw)
    assert user_for_key(raw) == alice
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_last_used_is_kept_to_the_minute_without_a_write_per_request(alice):
    key, raw = ApiKey.issue(user=alice, name="editor")
    user_for_key(raw)
    key.refresh_from_db()
    first = key.last_used_at
    user_for_key(raw)
    key.refresh_from_db()
    assert key.last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    user_for_key(raw)
    key.refresh_from_db()
    assert key.last_used_at > first


@pytest.mark.parametrize("raw", [None, "", "hf_x", "sk-123", "hf_deadbeef_wrong"])
def test_wrong_keys_authenticate_nobody(alice, raw):
    ApiKey.issue(user=alice, name="editor")
    assert user_for_key(raw) is None


def test_revoked_expired_and_inactive_keys_fail(alice):
    revoked, raw1 = ApiKey.issue(user=alice, name="a")
    revoked.revoked_at = timezone.now()
    revoked.save()
    _, raw2 = ApiKey.issue(user=alice, name="b", expires_at=timezone.now())
    assert user_for_key(raw1) is None and user_for_key(raw2) is None
    _, raw3 = ApiKey.issue(user=alice, name="c")
    alice.is_active = False
    alice.save()
    assert user_for_key(raw3) is None


def test_keys_page_shows_a_new_key_once_and_revokes(client, alice):
    client.force_login(alice)
    page = client.post(reverse("api:keys"), {"name": "laptop", "expires_in_days": 30})
    assert page.status_code == 302  # Post/Redirect/Get: a reload makes no second key
    html = client.get(page.url).content.decode()
    assert "data-new-key" in html
    key = ApiKey.objects.get(user=alice)
    assert key.expires_at is not None
    assert "data-new-key" not in client.get(reverse("api:keys")).content.decode()
    client.post(reverse("api:key_revoke", args=[key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_other_users_cannot_revoke(client, alice):
    key, _ = ApiKey.issue(user=alice, name="a")
    client.force_login(make_user("bob"))
    assert client.post(reverse("api:key_revoke", args=[key.pk])).status_code == 404


def test_create_api_key_command_prints_a_working_key(alice, capsys):
    call_command("create_api_key", "alice", "--name", "ci")
    raw = capsys.readouterr().out.strip()
    assert user_for_key(raw) == alice
