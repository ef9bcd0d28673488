"""Admin rough edges: invitation links shown whole with a Copy button, policy changes
audited from what to what, and a conversation's "View on site" that opens for staff."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from tests.streams import make_user
from webui.chat.models import Conversation
from webui.team.models import AuditEvent, Invitation, Limit, TeamSettings


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def test_an_invitation_link_is_absolute_with_a_copy_button(admin_client, superuser, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "homefire.office.lan"]
    invitation = Invitation.objects.create(note="for Dana", created_by=superuser)
    url = f"http://testserver/accounts/invite/{invitation.token}/"
    for page in (
        admin_client.get("/admin/team/invitation/"),
        admin_client.get(f"/admin/team/invitation/{invitation.pk}/change/"),
    ):
        html = page.content.decode()
        assert f"<code data-invitation-link>{url}</code>" in html
        assert f'data-copy-text="{url}"' in html
        assert "/static/js/admin_copy.js" in html
    # As an admin reached the site: its scheme and host, behind any name.
    other = admin_client.get("/admin/team/invitation/", HTTP_HOST="homefire.office.lan")
    assert (
        f"http://homefire.office.lan/accounts/invite/{invitation.token}/" in other.content.decode()
    )


def _post_settings(admin_client, **values):
    """The settings form as the admin sends it: the fields not changed keep their values
    (with the hidden initial values Django adds for fields whose default is computed)."""
    current = TeamSettings.current()
    kept = {}
    for name in ("document_max_mb", "document_quota_mb"):
        kept[name] = kept[f"initial-{name}"] = getattr(current, name)
    response = admin_client.post("/admin/team/teamsettings/1/change/", {**kept, **values})
    assert response.status_code == 302, response.content.decode()[:3000]


def test_a_policy_change_is_audited_from_what_to_what(admin_client, settings):
    TeamSettings(signup_policy="open", retention_days=None).save()
    _post_settings(admin_client, signup_policy="invite", retention_days="90")
    event = AuditEvent.objects.get(action="admin: changed")
    assert event.target == (
        "team settings “Team settings” (id 1): Changed signup policy from “Open: anyone may "
        "sign up” to “Invitation: only through a single-use invitation link”; retention days "
        "from empty to “90”."
    )
    # Django's own history page says the same.
    assert LogEntry.objects.get().get_change_message().startswith("Changed signup policy from")


def test_a_limit_change_names_both_values(admin_client):
    bob = make_user("bob")
    limit = Limit.objects.create(user=bob, tokens_per_day=1000)
    response = admin_client.post(
        f"/admin/team/limit/{limit.pk}/change/",
        {"user": bob.pk, "tokens_per_day": "2500", "max_active": "", "requests_per_minute": ""},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    target = AuditEvent.objects.get(action="admin: changed").target
    assert target.endswith("Changed tokens per day from “1000” to “2500”.")


def test_an_added_row_keeps_djangos_message(admin_client):
    admin_client.post(
        "/admin/team/invitation/add/",
        {"note": "x", "expires_at_0": "2099-01-01", "expires_at_1": "10:00:00"},
    )
    assert AuditEvent.objects.get(action="admin: added").target.startswith("invitation")


def test_a_long_change_is_cut_with_an_ellipsis(superuser):
    from webui.team import audit

    event = audit.record(actor=superuser, action="admin: changed", target="x" * 400)
    assert len(event.target) == 300 and event.target.endswith("…")


@pytest.mark.parametrize("can_read", [True, False])
def test_view_on_site_opens_the_audited_read_or_is_not_offered(admin_client, settings, can_read):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "ADMIN_CAN_READ": can_read}
    conversation = Conversation.objects.create(owner=make_user("alice"), title="Private")
    page = admin_client.get(f"/admin/chat/conversation/{conversation.pk}/change/").content.decode()
    assert ("View on site" in page) is can_read
    if can_read:
        assert f'href="/team/read/{conversation.pk}/" class="viewsitelink"' in page
        reason_form = admin_client.get(f"/team/read/{conversation.pk}/")
        assert reason_form.status_code == 200 and "reason" in reason_form.content.decode()


def test_invitation_expiry_is_unchanged_by_the_link(admin_client, superuser):
    expires = timezone.now() + timedelta(days=3)
    invitation = Invitation.objects.create(note="n", created_by=superuser, expires_at=expires)
    admin_client.get("/admin/team/invitation/")
    invitation.refresh_from_db()
    assert invitation.expires_at == expires
