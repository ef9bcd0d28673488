"""Pages through Django's test client: login required, owner-only, inert rendering."""

import pytest
from django.urls import reverse

from tests.inert import problems_in
from tests.streams import make_user
from webui.chat.models import Conversation, Message

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> [a](javascript:alert(1))'


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def conversation(alice, bundled_model):
    conversation = Conversation.objects.create(owner=alice, title=HOSTILE, model=bundled_model)
    Message.objects.create(conversation=conversation, role="user", content=HOSTILE)
    Message.objects.create(conversation=conversation, role="assistant", content=HOSTILE)
    return conversation


def test_pages_require_login(client, conversation):
    for url in [reverse("chat:home"), conversation.get_absolute_url()]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_other_user_cannot_list_or_open_a_conversation(client, conversation):
    client.force_login(make_user("bob"))
    home = client.get(reverse("chat:home"))
    assert f'data-conversation-id="{conversation.pk}"' not in home.content.decode()
    assert client.get(conversation.get_absolute_url()).status_code == 404
    answer = conversation.messages.get(role="assistant")
    assert client.post(reverse("chat:stop", args=[answer.pk])).status_code == 404


def test_owner_sees_the_conversation_in_the_sidebar(client, alice, conversation):
    client.force_login(alice)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert f'data-conversation-id="{conversation.pk}"' in page
    assert 'data-role="user"' in page and 'data-role="assistant"' in page


def test_user_text_model_output_and_title_render_inert(client, alice, conversation):
    client.force_login(alice)
    page = client.get(conversation.get_absolute_url()).content.decode()
    body = page.split('id="messages"', 1)[1].split('id="composer"', 1)[0]
    for article in body.split("<article")[1:]:
        # The body holds the text (rendered Markdown has no <div>); the message's own
        # controls follow it, and the text they carry is checked below with the page.
        content = article.split('class="message-body', 1)[1].split("</div>", 1)[0]
        assert problems_in(content.split(">", 1)[1]) == []
    assert "&lt;script&gt;" in page
    assert "<script>alert" not in page
    assert "onerror=alert" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", "")


def test_start_rejects_empty_message_and_keeps_the_page(client, alice, bundled_model):
    client.force_login(alice)
    response = client.post(reverse("chat:start"), {"content": "  "})
    assert response.status_code == 400
    assert "Type a message first" in response.content.decode()
    assert not Conversation.objects.exists()


def test_start_keeps_the_users_words_when_refused(client, alice, bundled_model, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "MAX_MESSAGE_CHARS": 5}
    client.force_login(alice)
    response = client.post(reverse("chat:start"), {"content": "too long text"})
    assert response.status_code == 400
    assert "too long text</textarea>" in response.content.decode()


def test_post_without_csrf_token_is_refused(alice, bundled_model):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(reverse("chat:start"), {"content": "hi"}).status_code == 403


def test_signup_logs_the_new_user_in(client, bundled_model):
    response = client.post(
        reverse("signup"),
        {"username": "carol", "password1": "a-long-pass-2026", "password2": "a-long-pass-2026"},
    )
    assert response.status_code == 302
    assert client.get(reverse("chat:home")).status_code == 200


def test_an_answer_cut_by_the_length_limit_says_so(client, alice, bundled_model):
    conversation = Conversation.objects.create(owner=alice, model=bundled_model)
    Message.objects.create(
        conversation=conversation, role="assistant", content="one two", finish_reason="length"
    )
    client.force_login(alice)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert 'data-finish="length"' in page and "Cut at the length limit" in page


def test_opening_a_conversation_leaves_lost_answers_to_the_housekeeping(
    client, alice, bundled_model, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    from webui.chat import reaper

    reaped = []
    monkeypatch.setattr(reaper, "reap_orphans", lambda: reaped.append("reap") or [])
    conversation = Conversation.objects.create(owner=alice, model=bundled_model)
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        status="streaming",
        worker="gone@test:1",
        started_at=timezone.now() - timedelta(minutes=5),
    )
    client.force_login(alice)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert 'data-status="streaming"' in page
    assert reaped == []


def test_the_first_question_by_htmx_is_answered_with_its_conversation_s_page(
    client, alice, bundled_model
):
    client.force_login(alice)
    response = client.post(
        reverse("chat:start"), {"content": "Hello there"}, headers={"HX-Request": "true"}
    )
    conversation = Conversation.objects.get(owner=alice)
    assert response.status_code == 200
    assert response["HX-Push-Url"] == conversation.get_absolute_url()
    page = response.content.decode()
    assert f'ws-connect="/ws/conversations/{conversation.pk}/"' in page
    assert "Hello there" in page


def test_a_temporary_first_question_by_htmx_loads_its_page(client, alice, bundled_model):
    client.force_login(alice)
    response = client.post(
        reverse("chat:start"), {"content": "Hi", "temporary": "1"}, headers={"HX-Request": "true"}
    )
    conversation = Conversation.objects.get(owner=alice)
    assert conversation.is_temporary
    assert response.status_code == 204
    assert response["HX-Redirect"] == conversation.get_absolute_url()


def test_a_refused_first_question_by_htmx_is_the_new_page_with_the_reason(
    client, alice, bundled_model
):
    client.force_login(alice)
    response = client.post(reverse("chat:start"), {"content": "  "}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "HX-Push-Url" not in response
    assert "Type a message first" in response.content.decode()
    assert not Conversation.objects.exists()
