"""Everyone but the owner, over every URL and object id: nothing seen, nothing changed."""

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver

from tests.hostile.tally import tried
from tests.streams import session_cookie
from webui.chat import services
from webui.chat.models import Conversation, Message

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

LOGIN = "/accounts/login/"


def _routes(owned) -> list[tuple[str, str, dict]]:
    """(method, path, data) for every chat and keys URL, filled with Alice's ids."""
    c, q, a, k = owned.conversation.pk, owned.question.pk, owned.answer.pk, owned.key.pk
    routes = [
        ("GET", "/", {}),
        ("GET", "/archived/", {}),
        ("GET", "/sidebar/", {}),
        ("GET", "/search/?q=secret", {}),
        ("POST", "/c/new/", {"content": "hello"}),
        ("GET", "/export.json", {}),
        ("GET", "/import/", {}),
        ("GET", "/accounts/keys/", {}),
        ("POST", "/accounts/keys/", {"name": "stolen"}),
        ("GET", "/models/states/", {}),
        # Alice's conversation is not shared: no token opens it (a digit marks it as foreign).
        ("GET", f"/s/{'x' * 40}{c}/", {}),
        ("GET", "/team/pending/", {}),
        ("GET", "/team/my-usage/", {}),
        ("GET", "/team/usage/", {}),
        ("GET", "/team/usage.csv", {}),
        ("GET", "/team/usage/feedback.csv", {}),
        ("GET", "/team/account/delete/", {}),
        ("POST", "/team/account/delete/", {"password": "guess"}),
    ]
    for conversation in (c, c + 1000):  # Alice's, and one that does not exist
        routes += [
            ("GET", f"/c/{conversation}/", {}),
            ("POST", f"/c/{conversation}/rename/", {"title": "owned by bob"}),
            ("POST", f"/c/{conversation}/arrange/", {"action": "pin"}),
            ("POST", f"/c/{conversation}/arrange/", {"action": "archive"}),
            ("GET", f"/c/{conversation}/delete/", {}),
            ("POST", f"/c/{conversation}/delete/", {}),
            ("GET", f"/c/{conversation}/export.md", {}),
            ("GET", f"/c/{conversation}/export.json", {}),
            ("POST", f"/c/{conversation}/settings/", {"system_prompt": "owned", "top_p": "1"}),
            ("POST", f"/c/{conversation}/share/", {"action": "share"}),
            ("POST", f"/c/{conversation}/share/", {"action": "unshare"}),
            ("GET", f"/c/{conversation}/earlier/?before={q}", {}),
            ("GET", f"/team/read/{conversation}/", {}),
            ("POST", f"/team/read/{conversation}/", {"reason": "just curious"}),
        ]
    for message in (q, a, a + 1000):
        routes.append(("POST", f"/m/{message}/stop/", {}))
        routes.append(("GET", f"/m/{message}/delete/", {}))
        routes.append(("POST", f"/m/{message}/delete/", {}))
        routes.append(("POST", f"/m/{message}/feedback/", {"rating": "down", "comment": "bob"}))
    for key in (k, k + 1000):
        routes.append(("POST", f"/accounts/keys/{key}/revoke/", {}))
    routes += [("GET", "/prompts/", {}), ("GET", "/prompts/menu.json", {})]
    routes.append(("POST", "/prompts/", {"title": "new", "text": "new"}))
    for prompt in (owned.prompt.pk, owned.prompt.pk + 1000):  # Alice's, and none
        routes += [
            ("GET", f"/prompts/{prompt}/", {}),
            ("POST", f"/prompts/{prompt}/", {"title": "owned by bob", "text": "bob"}),
            ("POST", f"/prompts/{prompt}/delete/", {}),
        ]
    routes += [("GET", "/folders/", {}), ("POST", "/folders/", {"name": "new"})]
    routes.append(("POST", "/folders/file/", {"conversation": c, "folder": ""}))
    for folder in (owned.folder.pk, owned.folder.pk + 1000):  # Alice's, and none
        routes += [
            ("GET", f"/folders/{folder}/", {}),
            ("POST", f"/folders/{folder}/rename/", {"name": "owned by bob"}),
            ("POST", f"/folders/{folder}/collapse/", {"collapsed": "1"}),
            ("POST", f"/folders/{folder}/delete/", {}),
            ("POST", "/folders/file/", {"conversation": c, "folder": folder}),
        ]
    collection, document = owned.collection.pk, owned.document.pk
    routes += [
        ("POST", "/c/new/attach/", {}),
        ("GET", "/documents/collections/", {}),
        ("POST", "/documents/collections/", {"name": "new"}),
        ("GET", "/documents/collections/menu.json", {}),
    ]
    for conversation in (c, c + 1000):
        routes += [
            ("GET", f"/c/{conversation}/attachments/", {}),
            ("POST", f"/c/{conversation}/attachments/", {}),
            ("POST", f"/c/{conversation}/leave/", {"reload": "1"}),
            ("POST", f"/c/{conversation}/attachments/{document}/remove/", {}),
            ("POST", f"/c/{conversation}/collections/", {"collection": collection}),
            ("POST", f"/c/{conversation}/collections/{collection}/remove/", {}),
        ]
    for found in (collection, collection + 1000):  # Alice's, and none
        routes += [
            ("GET", f"/documents/collections/{found}/", {}),
            ("POST", f"/documents/collections/{found}/files/", {}),
            ("POST", f"/documents/collections/{found}/share/", {"groups": []}),
            ("POST", f"/documents/collections/{found}/delete/", {}),
        ]
    for found in (document, document + 1000):
        routes += [
            ("GET", f"/documents/files/{found}/", {}),
            ("POST", f"/documents/files/{found}/delete/", {}),
        ]
    return routes


def _names(patterns, prefix="") -> set[str]:
    names = set()
    for entry in patterns:
        if isinstance(entry, URLPattern):
            names.add(prefix + str(entry.pattern))
        else:
            names |= _names(entry.url_patterns, prefix + str(entry.pattern))
    return names


def test_every_chat_and_keys_url_is_in_the_matrix(owned):
    resolver = get_resolver()
    names = {
        n for n in _names(resolver.url_patterns) if not n.startswith(("admin/", "accounts/login"))
    }
    covered = {
        "",
        "archived/",
        "sidebar/",
        "search/",
        "c/new/",
        "c/<int:conversation_id>/",
        "c/<int:conversation_id>/rename/",
        "c/<int:conversation_id>/arrange/",
        "c/<int:conversation_id>/delete/",
        "c/<int:conversation_id>/export.md",
        "c/<int:conversation_id>/export.json",
        "export.json",
        "import/",
        "m/<int:message_id>/stop/",
        "c/<int:conversation_id>/settings/",
        "c/<int:conversation_id>/share/",
        "c/<int:conversation_id>/earlier/",
        "s/<str:token>/",
        "models/states/",
        "m/<int:message_id>/delete/",
        "m/<int:message_id>/feedback/",
        "prompts/",
        "prompts/menu.json",
        "prompts/<int:prompt_id>/",
        "prompts/<int:prompt_id>/delete/",
        "folders/",
        "folders/file/",
        "folders/<int:folder_id>/",
        "folders/<int:folder_id>/rename/",
        "folders/<int:folder_id>/delete/",
        "folders/<int:folder_id>/collapse/",
        "c/new/attach/",
        "c/<int:conversation_id>/leave/",
        "c/<int:conversation_id>/attachments/",
        "c/<int:conversation_id>/attachments/<int:document_id>/remove/",
        "c/<int:conversation_id>/collections/",
        "c/<int:conversation_id>/collections/<int:collection_id>/remove/",
        "documents/collections/",
        "documents/collections/menu.json",
        "documents/collections/<int:collection_id>/",
        "documents/collections/<int:collection_id>/files/",
        "documents/collections/<int:collection_id>/share/",
        "documents/collections/<int:collection_id>/delete/",
        "documents/files/<int:document_id>/",
        "documents/files/<int:document_id>/delete/",
        # Files and collections by key: another key's ids are 404
        # (tests/webui/api/test_documents_api.py).
        "^v1/collections/?$",
        "^v1/files/?$",
        "^v1/files/(?P<file_id>[^/]+)/?$",
        "accounts/keys/",
        "accounts/keys/<int:key_id>/revoke/",
        "team/pending/",
        "team/my-usage/",
        "team/usage/",
        "team/usage.csv",
        "team/usage/feedback.csv",
        "team/account/delete/",
        "team/read/<int:conversation_id>/",
        # /v1 takes no object ids: its users are checked key by key below. A model the key's
        # owner may not use is a 404 (tests/webui/api/test_edges.py).
        "^v1/models/?$",
        "^v1/models/(?P<model_id>[^/]+)/?$",
        "^v1/chat/completions/?$",
        "^v1/completions/?$",
        "^v1/embeddings/?$",
        # A stored response is its owner's: another key gets 404 (below, and
        # tests/webui/api/test_responses.py).
        "^v1/responses/?$",
        "^v1/responses/(?P<response_id>[^/]+)/?$",
        "^v1(?:/.*)?$",
    }
    chat_and_api = {
        n
        for n in names
        if n.startswith(
            (
                "c/",
                "m/",
                "s/",
                "models/",
                "v1/",
                "^v1",
                "accounts/keys",
                "team/",
                "prompts/",
                "folders/",
                "documents/",
            )
        )
        or n in {"", "archived/", "sidebar/", "search/", "export.json", "import/"}
    }
    assert chat_and_api <= covered, f"not in the access matrix: {chat_and_api - covered}"


def _client_for(actor: str, owned) -> Client:
    client = Client()
    if actor == "bob":
        client.force_login(owned.bob)
    elif actor == "inactive":
        client.force_login(owned.carol)
        owned.carol.is_active = False
        owned.carol.save()
    return client


@pytest.mark.parametrize("actor", ["bob", "anonymous", "inactive"])
def test_nobody_else_reaches_or_changes_alices_objects(owned, actor):
    client = _client_for(actor, owned)
    before = owned.snapshot()
    foreign = [r for r in _routes(owned) if any(ch.isdigit() for ch in r[1])]
    for method, path, data in foreign:
        response = client.post(path, data) if method == "POST" else client.get(path)
        tried("access")
        if actor == "bob":
            assert response.status_code in (403, 404), (method, path, response.status_code)
        else:
            assert response.status_code == 302, (method, path, response.status_code)
            assert response["Location"].startswith(LOGIN), (method, path)
    assert owned.snapshot() == before


@pytest.mark.parametrize("actor", ["anonymous", "inactive"])
def test_every_page_sends_strangers_to_log_in(owned, actor):
    client = _client_for(actor, owned)
    before = owned.snapshot()
    for method, path, data in _routes(owned):
        response = client.post(path, data) if method == "POST" else client.get(path)
        tried("access")
        assert response.status_code == 302, (method, path, response.status_code)
        assert response["Location"].startswith(LOGIN), (method, path)
    assert owned.snapshot() == before
    assert Conversation.objects.count() == 1


def test_bobs_own_pages_show_nothing_of_alices(owned):
    client = Client()
    client.force_login(owned.bob)
    for path in (
        "/",
        "/archived/",
        "/sidebar/",
        "/search/?q=secret",
        "/accounts/keys/",
        "/team/my-usage/",
        "/prompts/",
        "/prompts/menu.json",
        "/folders/",
        "/documents/collections/",
        "/documents/collections/menu.json",
    ):
        body = client.get(path).content.decode()
        tried("access")
        assert "alice secret plans" not in body and "alice-key" not in body, path
    exported = client.get("/export.json").content.decode()
    tried("access")
    assert "alice secret plans" not in exported


def test_team_pages_are_for_staff_and_invitation_links_open_nothing(owned):
    client = Client()
    client.force_login(owned.bob)
    for path in (
        "/team/usage/",
        "/team/usage.csv?user=1",
        "/team/usage/feedback.csv",
        f"/team/read/{owned.conversation.pk}/",
    ):
        tried("access")
        assert client.get(path).status_code == 404, path
    # The invitation page is public by design: a made-up token gets the refusal page.
    stranger = Client()
    for token in ("nonsense", "x" * 64, "<script>"):
        response = stranger.get(f"/accounts/invite/{token}/")
        tried("access")
        assert response.status_code == 403 and b"<script>" not in response.content


def test_session_of_a_deactivated_user_stops_working(owned):
    client = Client()
    client.force_login(owned.alice)
    assert client.get(f"/c/{owned.conversation.pk}/").status_code == 200
    owned.alice.is_active = False
    owned.alice.save()
    response = client.get(f"/c/{owned.conversation.pk}/")
    tried("access")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def _api(client: Client, raw: str, path: str, body: dict | None = None):
    headers = {"Authorization": f"Bearer {raw}"}
    if body is None:
        return client.get(path, headers=headers)
    return client.post(path, body, content_type="application/json", headers=headers)


def test_a_key_never_reaches_another_users_data(owned):
    client = Client()
    before = owned.snapshot()
    alice_messages = Message.objects.filter(conversation__owner=owned.alice).count()
    assert _api(client, owned.bob_raw_key, "/v1/models").status_code == 200
    body = {"model": owned.conversation.model.slug, "messages": [{"role": "user", "content": "hi"}]}
    for path in ("/v1/chat/completions", "/v1/completions"):
        payload = body if "chat" in path else {"model": body["model"], "prompt": "hi"}
        # No worker serves the model in this test: the request ends early, as Bob's.
        response = _api(client, owned.bob_raw_key, path, payload)
        tried("access")
        assert response.status_code in (200, 503), response.content
    # Embeddings of a chat model are refused; no stored response is anyone else's.
    embedding = {"model": body["model"], "input": "hi"}
    tried("access")
    assert _api(client, owned.bob_raw_key, "/v1/embeddings", embedding).status_code in (400, 503)
    for response_id in ("resp_1", f"resp_{owned.answer.pk}"):
        tried("access")
        assert _api(client, owned.bob_raw_key, f"/v1/responses/{response_id}").status_code == 404
        deleted = client.delete(
            f"/v1/responses/{response_id}", headers={"Authorization": f"Bearer {owned.bob_raw_key}"}
        )
        assert deleted.status_code == 404
    assert not Conversation.objects.filter(owner=owned.alice).exclude(pk=owned.conversation.pk)
    assert Message.objects.filter(conversation__owner=owned.alice).count() == alice_messages
    assert owned.snapshot() == before
    # A key with Alice's prefix but Bob's secret (or the other way round) is nobody's.
    forged = f"hf_{owned.key.prefix}_{owned.bob_raw_key.split('_', 2)[2]}"
    tried("access")
    assert _api(client, forged, "/v1/models").status_code == 401


def test_an_inactive_users_key_gets_401(owned):
    client = Client()
    owned.alice.is_active = False
    owned.alice.save()
    for path, body in (
        ("/v1/models", None),
        ("/v1/chat/completions", {"model": "x", "messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/completions", {"model": "x", "prompt": "hi"}),
    ):
        response = _api(client, owned.raw_key, path, body)
        tried("access")
        assert response.status_code == 401, (path, response.content)
        assert response.json()["error"]["code"] == "invalid_api_key"


def test_session_cookie_is_no_api_key(owned):
    client = Client()
    cookie = session_cookie(owned.alice)
    response = _api(client, cookie, "/v1/models")
    tried("access")
    assert response.status_code == 401
    client.cookies["sessionid"] = cookie
    tried("access")
    assert client.get("/v1/models").status_code == 401


def test_a_shared_link_lets_the_team_read_and_nothing_more(owned):
    from webui.chat.sharing import conversation_share

    token = conversation_share(conversation=owned.conversation)
    before = owned.snapshot()
    bob = Client()
    bob.force_login(owned.bob)
    page = bob.get(f"/s/{token}/")
    tried("access")
    assert page.status_code == 200 and "alice secret plans" in page.content.decode()
    for method, path, data in _routes(owned):
        if path.startswith(f"/c/{owned.conversation.pk}/") or path.startswith("/m/"):
            response = bob.post(path, data) if method == "POST" else bob.get(path)
            tried("access")
            assert response.status_code in (403, 404), (method, path, response.status_code)
    for actor in ("anonymous", "inactive"):
        response = _client_for(actor, owned).get(f"/s/{token}/")
        tried("access")
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert owned.snapshot() == before


def test_bob_cannot_use_or_detach_alices_documents_from_his_own_conversation(owned, quick_model):
    """His own conversation, her collection's or file's id: nothing linked, nothing removed."""
    bobs = services.conversation_start(owner=owned.bob, content="bob asks", model=quick_model)
    client = Client()
    client.force_login(owned.bob)
    before = owned.snapshot()
    linked = client.post(f"/c/{bobs.pk}/collections/", {"collection": owned.collection.pk})
    removed = client.post(f"/c/{bobs.pk}/attachments/{owned.document.pk}/remove/")
    tried("access", 2)
    assert linked.status_code == 404
    assert removed.status_code in (200, 404)
    assert not bobs.collection_links.exists()
    assert owned.snapshot() == before
