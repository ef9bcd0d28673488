"""The document viewer: the extracted text, inert, marked at the cited passage; a 404 for
anyone who may not read the document."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from tests.inert import problems_in
from tests.streams import make_user
from tests.webui.chat.document_rows import ready_document
from webui.chat.models import Conversation
from webui.documents.models import Collection
from webui.documents.viewer import parts_of

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def alice(db):
    return make_user("alice")


def _as(user) -> Client:
    """A browser of its own for each member."""
    client = Client()
    client.force_login(user)
    return client


def test_the_owner_sees_the_text_inert_with_the_cited_passage_marked(client, alice):
    chat = Conversation.objects.create(owner=alice, title="Q")
    document = ready_document(
        alice, "page.html", ["First part.", f"Second {HOSTILE} part."], conversation=chat
    )
    cited = document.passages.get(ordinal=1)
    client = _as(alice)
    url = reverse("documents:document", args=[document.pk])
    response = client.get(url, {"passage": cited.pk})
    assert response.status_code == 200
    html = response.content.decode()
    body = html[html.index('class="document-text"') :]
    body = body[: body.index("</article>")]
    # The page's own anchors aside, nothing in the text is markup.
    assert [p for p in problems_in(body) if not p.startswith("div[id=passage-")] == []
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert f'id="passage-{cited.pk}" class="document-passage cited"' in body
    assert body.split("<mark>")[1].lstrip().startswith("Second &lt;script")
    assert body.count("<mark>") == 1


def test_a_stranger_gets_a_404_and_a_group_member_reads_a_shared_collection(client, alice):
    team = Group.objects.create(name="team")
    bob, carol = make_user("bob"), make_user("carol")
    alice.groups.add(team)
    bob.groups.add(team)
    shared = Collection.objects.create(owner=alice, name="handbook")
    shared.groups.add(team)
    in_collection = ready_document(alice, "handbook.txt", ["Rules."], collection=shared)
    private = ready_document(alice, "diary.txt", ["Private."])
    for user, document, status in [
        (bob, in_collection, 200),
        (bob, private, 404),
        (carol, in_collection, 404),
        (carol, private, 404),
    ]:
        client = _as(user)
        response = client.get(reverse("documents:document", args=[document.pk]))
        assert response.status_code == status, (user, document)
    client = _as(alice)
    assert client.get(reverse("documents:document", args=[999999])).status_code == 404


class _P:
    def __init__(self, text, start, location="page 1"):
        self.text, self.start, self.location = text, start, location


def test_overlapping_passages_are_shown_once_and_gaps_get_their_space():
    text = "one two three four five six seven"
    passages = [_P(text[0:13], 0), _P(text[8:], 8), _P("eight", len(text) + 2, "page 2")]
    parts = parts_of(passages)
    assert "".join(p.text for p in parts) == text + "\n\neight"
    assert [p.new_place for p in parts] == [True, False, True]
