"""Hostile documents in the chat: text that looks like HTML, in a file's name and in its
passages, stays text in the panel, the sources under an answer and the viewer; another
member's document is a 404 in the viewer, the panel and the API, never a silent skip."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.hostile.tally import tried
from tests.inert import problems_in
from tests.streams import make_user
from tests.webui.chat.document_rows import ready_document
from webui.api.models import ApiKey
from webui.chat.models import Conversation, Message
from webui.documents.models import Citation

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

PAYLOADS = [
    '<script>alert("d01")</script>',
    '<img src=x onerror="alert(2)">',
    "<svg onload=alert(3)><circle r=9></svg>",
    "<iframe src=\"javascript:alert('d04')\"></iframe>",
    '<a href="javascript:alert(5)">d05</a>',
    '"><form action=/x><input name=q></form>',
]


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _between(html: str, start: str, end: str) -> str:
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_in_a_document_stays_text_in_the_sources_the_panel_and_the_viewer(
    payload, bundled_model
):
    alice = make_user("alice")
    chat = Conversation.objects.create(owner=alice, title="Q", model=bundled_model)
    name = f"{payload}.txt"
    document = ready_document(alice, name, [f"before {payload} after"], conversation=chat)
    question = Message.objects.create(conversation=chat, role="user", content="Q?")
    answer = Message.objects.create(
        conversation=chat, role="assistant", content="A [1].", status="done", parent=question
    )
    Citation.objects.create(message=answer, passage=document.passages.get(), number=1)
    client = _as(alice)

    page = client.get(chat.get_absolute_url()).content.decode()
    sources = _between(page, '<section class="sources"', "</section>")
    assert problems_in(sources) == [], sources
    assert 'data-role="citation"' in sources and "&lt;" in sources
    panel = _between(page, 'id="attachments"', '<form class="composer"')
    assert payload not in panel and 'data-role="attachment"' in panel
    assert payload not in sources

    viewer = client.get(reverse("documents:document", args=[document.pk])).content.decode()
    text = _between(viewer, 'class="document-text"', "</article>")
    assert [p for p in problems_in(text) if not p.startswith("div[id=passage-")] == []
    tried("rendering", 3)


def test_another_members_document_is_a_404_everywhere(bundled_model):
    alice, mallory = make_user("alice"), make_user("mallory")
    chat = Conversation.objects.create(owner=alice, title="Q", model=bundled_model)
    document = ready_document(alice, "secret.txt", ["s3cr3t-token"], conversation=chat)
    client = _as(mallory)
    viewer = client.get(reverse("documents:document", args=[document.pk]))
    assert viewer.status_code == 404 and b"s3cr3t" not in viewer.content
    own = Conversation.objects.create(owner=mallory, title="Mine", model=bundled_model)
    remove = reverse("chat:attachment_remove", args=[own.pk, document.pk])
    assert client.post(remove, headers={"HX-Request": "true"}).status_code == 404
    _, raw = ApiKey.issue(user=mallory, name="script")
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get(f"/v1/files/{document.pk}").status_code == 404
    body = {"model": bundled_model.slug, "messages": [{"role": "user", "content": "s3cr3t"}]}
    asked = api.post(
        "/v1/chat/completions",
        json.dumps({**body, "files": [document.pk]}),
        content_type="application/json",
    )
    # 404 naming the file when a worker serves the model, 503 before that check if none.
    assert asked.status_code in (404, 503)
    assert b"s3cr3t" not in asked.content
    assert not Message.objects.filter(conversation__owner=mallory).exclude(conversation=own)
    tried("access", 4)
