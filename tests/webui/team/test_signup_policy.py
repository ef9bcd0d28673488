"""The sign-up policy through the real views: open, approval, invitation, closed."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.streams import communicator, session_cookie
from webui.api.models import ApiKey
from webui.chat.models import Conversation
from webui.team.models import AuditEvent, Invitation, Membership

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "a-long-passphrase-8812"


def sign_up(client: Client, username: str, url: str = "/accounts/signup/", **extra):
    data = {"username": username, "password1": PASSWORD, "password2": PASSWORD, **extra}
    return client.post(url, data)


def test_open_policy_creates_an_active_account(client, policy, idle_model):
    policy("open")
    response = sign_up(client, "dana")
    assert response.status_code == 302 and response["Location"] == "/"
    assert Membership.objects.get(user__username="dana").status == "active"
    assert client.get("/").status_code == 200


def test_approval_policy_keeps_new_accounts_waiting_until_an_admin_approves(
    client, policy, idle_model, superuser
):
    policy("approval")
    assert b"wait for an admin" in client.get("/accounts/signup/").content
    sign_up(client, "erin")
    erin = User.objects.get(username="erin")
    assert erin.membership.status == "pending"
    # Every page but the waiting page, logging out and deleting the account sends them there.
    for path in ("/", "/archived/", "/accounts/keys/", "/team/my-usage/", "/search/?q=x"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/team/pending/", path
    page = client.get("/team/pending/")
    assert page.status_code == 200 and b"waiting for an admin" in page.content
    assert client.post("/c/new/", {"content": "let me in"}).status_code == 302
    assert not Conversation.objects.filter(owner=erin).exists()

    admin = Client()
    admin.force_login(superuser)
    membership = Membership.objects.get(user=erin)
    response = admin.post(
        "/admin/team/membership/",
        {"action": "approve", "_selected_action": [membership.pk]},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.status == "active" and membership.approved_by == superuser
    assert AuditEvent.objects.filter(actor=superuser, target__contains="erin").exists()
    assert client.get("/").status_code == 200
    assert client.get("/team/pending/")["Location"] == "/"


def test_pending_account_gets_403_json_from_the_api(client, policy, idle_model):
    policy("approval")
    sign_up(client, "frank")
    _, raw = ApiKey.issue(user=User.objects.get(username="frank"), name="early")
    headers = {"Authorization": f"Bearer {raw}"}
    response = client.get("/v1/models", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "account_pending"
    body = {"model": idle_model.slug, "messages": [{"role": "user", "content": "hi"}]}
    response = client.post(
        "/v1/chat/completions", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 403
    assert "approval" in response.json()["error"]["message"]
    assert not Conversation.objects.filter(owner__username="frank").exists()


@pytest.mark.django_db(transaction=True)
async def test_pending_account_cannot_open_the_websocket(idle_model):
    user = await sync_to_async(User.objects.create_user)("gina")
    await Membership.objects.acreate(user=user, status="pending")
    conversation = await Conversation.objects.acreate(owner=user, model=idle_model)
    cookie = await sync_to_async(session_cookie)(user)
    comm = communicator(f"/ws/conversations/{conversation.pk}/", cookie=cookie)
    connected, code = await comm.connect()
    assert not connected and code == 4403


def test_invitation_is_single_use(client, policy, idle_model, superuser):
    policy("invite")
    refused = client.get("/accounts/signup/")
    assert refused.status_code == 403 and b"by invitation only" in refused.content
    assert sign_up(Client(), "mallory").status_code == 403
    invitation = Invitation.objects.create(note="for hana", created_by=superuser)
    url = f"/accounts/invite/{invitation.token}/"
    form = client.get(url)
    assert form.status_code == 200 and b"You were invited" in form.content
    assert invitation.token.encode() in form.content  # carried in a hidden field
    response = sign_up(client, "hana", "/accounts/signup/", invite=invitation.token)
    assert response.status_code == 302
    hana = User.objects.get(username="hana")
    assert hana.membership.status == "active"
    invitation.refresh_from_db()
    assert invitation.used_by == hana and invitation.used_at is not None

    again = Client()
    page = again.get(url)
    assert page.status_code == 403 and b"used already" in page.content
    assert sign_up(again, "ivan", url).status_code == 403
    assert not User.objects.filter(username="ivan").exists()


def test_expired_or_unknown_invitation_is_refused_with_a_clear_page(client, policy, idle_model):
    policy("invite")
    expired = Invitation.objects.create(expires_at=timezone.now() - timedelta(minutes=1))
    page = client.get(f"/accounts/invite/{expired.token}/")
    assert page.status_code == 403 and b"has expired" in page.content
    assert sign_up(client, "jon", f"/accounts/invite/{expired.token}/").status_code == 403
    assert client.get("/accounts/signup/?invite=nonsense").status_code == 403
    assert not User.objects.filter(username="jon").exists()


def test_invitation_lets_in_without_approval(client, policy, idle_model):
    policy("approval")
    invitation = Invitation.objects.create()
    sign_up(client, "kim", f"/accounts/invite/{invitation.token}/")
    assert User.objects.get(username="kim").membership.status == "active"


def test_closed_policy_says_so(client, policy):
    policy("closed")
    page = client.get("/accounts/signup/")
    assert page.status_code == 403 and b"Sign-up is closed" in page.content
    assert sign_up(client, "leo").status_code == 403
    assert not User.objects.filter(username="leo").exists()
    invitation = Invitation.objects.create()
    assert client.get(f"/accounts/invite/{invitation.token}/").status_code == 403
