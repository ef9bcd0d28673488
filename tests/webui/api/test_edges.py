"""The API's edges as OpenAI has them: one model, unknown URLs, wrong methods, 429s."""

import pytest
from django.test import Client

from tests.streams import make_user
from webui.api.admission import Admission
from webui.api.models import ApiKey
from webui.chat.models import Conversation, Message
from webui.registry import presence
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(db):
    LLMModel.objects.create(name="Tiny", slug="tiny-api", path=bundled_model_path())
    LLMModel.objects.create(name="Off", slug="off", path=bundled_model_path(), enabled=False)
    _, raw = ApiKey.issue(user=make_user("alice"), name="script")
    return {"Authorization": f"Bearer {raw}"}


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


def test_one_model_is_the_object_in_the_list(key):
    listed = Client().get("/v1/models", headers=key).json()["data"]
    one = Client().get("/v1/models/tiny-api", headers=key)
    assert one.status_code == 200
    assert one.json() == listed[0]


@pytest.mark.parametrize("slug", ["off", "gpt-4", "nope%20x"])
def test_a_model_the_user_cannot_use_is_model_not_found(key, slug):
    error = _error(Client().get(f"/v1/models/{slug}", headers=key), 404)
    assert (error["code"], error["param"]) == ("model_not_found", "model")


def test_one_model_needs_a_key(key):
    assert _error(Client().get("/v1/models/tiny-api"), 401)["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v1/images/generations"),
        ("post", "/v1/assistants"),
        ("get", "/v1"),
        ("get", "/v1/"),
        ("get", "/v1/models/tiny-api/extra"),
        ("delete", "/v1/chat/completions/x"),
    ],
)
def test_unknown_urls_are_json_404s(key, method, path):
    error = _error(getattr(Client(), method)(path, headers=key), 404)
    assert error["code"] == "unknown_url"
    assert path in error["message"]


def test_trailing_slash_reaches_the_same_endpoint(key):
    assert Client().get("/v1/models/", headers=key).json()["object"] == "list"
    assert Client().get("/v1/models/tiny-api/", headers=key).json()["id"] == "tiny-api"
    response = Client().post("/v1/chat/completions/", "{", "application/json", headers=key)
    assert "not valid JSON" in _error(response, 400)["message"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("get", "/v1/chat/completions", "POST"),
        ("get", "/v1/completions", "POST"),
        ("get", "/v1/embeddings", "POST"),
        ("post", "/v1/models", "GET"),
        ("delete", "/v1/models/tiny-api", "GET"),
        ("put", "/v1/chat/completions/", "POST"),
    ],
)
def test_wrong_method_is_405_with_allow(key, method, path, allow):
    response = getattr(Client(), method)(path, headers=key)
    error = _error(response, 405)
    assert (error["code"], response["Allow"]) == ("method_not_allowed", allow)


def test_other_pages_keep_djangos_404():
    assert Client().get("/no-such-page/").status_code == 404


@pytest.fixture
def served():
    """A heartbeat in the real Redis, so the model counts as served (no task is sent)."""
    beat = presence.WorkerBeat(
        name="tiny-api@test:1",
        host="test",
        model="tiny-api",
        state="ready",
        device="CPU",
        active_messages=[],
        seen=presence.now(),
    )
    presence.beat(beat)
    yield
    presence.forget(beat.name)


def _ask(key):
    body = '{"model": "tiny-api", "messages": [{"role": "user", "content": "hi"}]}'
    return Client().post("/v1/chat/completions", body, "application/json", headers=key)


def test_the_in_progress_cap_429_carries_retry_after(key, served, settings):
    # After a short wait in line for a place (tests/webui/api/test_admission.py).
    settings.HOMEFIRE = {**settings.HOMEFIRE, "API_QUEUE_SECONDS": 0.5}
    owner = ApiKey.objects.get().user
    conversation = Conversation.objects.create(owner=owner, source="api")
    for _ in range(settings.HOMEFIRE["API_MAX_ACTIVE"]):
        Message.objects.create(
            conversation=conversation, role="assistant", status="queued", sampling={"via": "api"}
        )
    response = _ask(key)
    assert _error(response, 429)["code"] == "rate_limit_exceeded"
    assert int(response["Retry-After"]) >= 1


def test_the_admission_429_carries_retry_after(key, served, monkeypatch):
    held = Admission(ApiKey.objects.get().user_id).enter()
    monkeypatch.setattr("webui.api.admission.WAIT_SECONDS", 0.5)
    try:
        response = _ask(key)
    finally:
        held.leave()
    assert _error(response, 429)["code"] == "rate_limit_exceeded"
    assert int(response["Retry-After"]) >= 1
