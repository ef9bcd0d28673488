"""A conversation shared read-only with the team by link: login required, revocable."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.inert import problems_in
from tests.streams import make_user
from webui.chat.models import Conversation, Message
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> [a](javascript:alert(1))'


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def conversation(alice):
    model = LLMModel.objects.create(
        name="Tiny", slug="tiny", path=bundled_model_path(), is_default=True
    )
    conversation = Conversation.objects.create(
        owner=alice,
        title="Trip plan",
        model=model,
        system_prompt="alice's private prompt",
        temperature=0.3,
    )
    Message.objects.create(conversation=conversation, role="user", content=f"Plan {HOSTILE}")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content=f"**Lisbon** {HOSTILE}",
        model=model,
        worker="tiny@secret-host:1",
        prompt_tokens=12,
        completion_tokens=5,
    )
    return conversation


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _share(client, conversation, action="share"):
    return client.post(reverse("chat:share", args=[conversation.pk]), {"action": action})


def test_sharing_makes_a_link_the_team_can_read(alice, conversation):
    owner = _as(alice)
    assert _share(owner, conversation).status_code == 302
    conversation.refresh_from_db()
    token = conversation.share_token
    assert token and len(token) == 43
    link = reverse("chat:shared", args=[token])
    page = owner.get(conversation.get_absolute_url()).content.decode()
    assert f'value="http://testserver{link}"' in page and "Stop sharing" in page

    # Sharing again keeps the same link.
    _share(owner, conversation)
    conversation.refresh_from_db()
    assert conversation.share_token == token

    shared = _as(make_user("bob")).get(link)
    assert shared.status_code == 200
    body = shared.content.decode()
    assert "Trip plan" in body and "<strong>Lisbon</strong>" in body
    main = body.split('class="conversation shared-conversation"', 1)[1]
    # Read-only: no composer, no socket, no forms, no actions; nothing only the owner sees.
    owner_only = ["alice's private prompt", "secret-host", "Details", "data-message-id"]
    for absent in ["<form", "<textarea", "ws-connect", "ws-send", "Stop", "Settings", "Options"]:
        assert absent not in main, absent
    for absent in owner_only:
        assert absent not in main, absent
    for article in main.split("<article")[1:]:
        content = article.split('class="message-body', 1)[1].split("</article>", 1)[0]
        assert problems_in(content.split(">", 1)[1]) == []
    assert "&lt;script&gt;" in body and "<script>alert" not in body


def test_the_link_needs_a_login(alice, conversation):
    _share(_as(alice), conversation)
    conversation.refresh_from_db()
    response = Client().get(reverse("chat:shared", args=[conversation.share_token]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_stop_sharing_makes_the_link_404(alice, conversation):
    owner = _as(alice)
    _share(owner, conversation)
    conversation.refresh_from_db()
    link = reverse("chat:shared", args=[conversation.share_token])
    bob = _as(make_user("bob"))
    assert bob.get(link).status_code == 200
    assert _share(owner, conversation, "unshare").status_code == 302
    conversation.refresh_from_db()
    assert conversation.share_token is None
    assert bob.get(link).status_code == 404
    assert owner.get(link).status_code == 404
    page = owner.get(conversation.get_absolute_url()).content.decode()
    assert "Stop sharing" not in page and ">Share</button>" in page
    # A new share is a new link: the old one stays dead.
    _share(owner, conversation)
    conversation.refresh_from_db()
    assert reverse("chat:shared", args=[conversation.share_token]) != link
    assert bob.get(link).status_code == 404


def test_only_the_owner_shares_or_stops_sharing(alice, conversation):
    bob = _as(make_user("bob"))
    assert _share(bob, conversation).status_code == 404
    conversation.refresh_from_db()
    assert conversation.share_token is None
    _share(_as(alice), conversation)
    conversation.refresh_from_db()
    assert _share(bob, conversation, "unshare").status_code == 404
    assert Conversation.objects.get(pk=conversation.pk).share_token == conversation.share_token


def test_guessed_tokens_find_nothing(alice, conversation):
    bob = _as(make_user("bob"))
    for token in ("x", "None", "null", "a" * 43):
        assert bob.get(reverse("chat:shared", args=[token])).status_code == 404


def test_sharing_needs_the_csrf_token(alice, conversation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert _share(client, conversation).status_code == 403
    conversation.refresh_from_db()
    assert conversation.share_token is None
